"""Running containers: overlayfs root filesystems, OCI runtime specs, the runc/crun
driver, and the per-container monitor.

Modules (imported on demand; nothing is imported here, to keep ``run`` fast):

- ``overlay``   mount_rootfs / unmount_rootfs / ensure_short_link
- ``spec``      RunOptions -> config.json (docker's defaults: ``defaults``, ``mounts``,
                ``users``, ``etcfiles``)
- ``runc``      Runtime: run/create/start/exec/kill/delete/state; ``detect`` picks one
- ``monitor``   the per-container monitor; ``launch`` starts it (detached or attached)
- ``state``     state.json and current_status; ``logs`` json-file logs; ``console`` ptys
- ``exec``      exec into a running container
"""
