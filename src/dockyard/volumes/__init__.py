"""Data volumes: bind mounts, named and anonymous local volumes, ``--volumes-from``.

    parse / mountflag   -v, --mount and --volumes-from with docker's errors
    plan                what ``create`` decides: mount points, volumes to make
    copyup              fill an empty volume from the image (resolved inside the root)
    mounts              mount points -> runtime mounts at each start; inspect's Mounts
    local               the local driver: volume directories and rows
    listing             volume ls / inspect / prune, system df's volume lines
    model               MountPoint, volume names

Nothing here is imported on the ``run`` path unless the container has mounts.
"""
