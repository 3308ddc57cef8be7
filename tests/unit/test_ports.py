"""``-p`` as docker reads it, and the PORTS / ``port`` displays."""

from __future__ import annotations

import pytest

from dockyard.errors import ConfigError
from dockyard.network.ports import (
    PortFilter,
    PortRequest,
    display_ports,
    exposed_ports,
    parse_publish,
    port_bindings,
    port_lines,
    requests_from_host_config,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("80", [PortRequest("tcp", 80, "", 0, 0)]),
        ("8080:80", [PortRequest("tcp", 80, "", 8080, 8080)]),
        ("5000:5000/udp", [PortRequest("udp", 5000, "", 5000, 5000)]),
        ("127.0.0.1:8080:80", [PortRequest("tcp", 80, "127.0.0.1", 8080, 8080)]),
        ("127.0.0.1::80/UDP", [PortRequest("udp", 80, "127.0.0.1", 0, 0)]),
        ("[::1]:8080:80", [PortRequest("tcp", 80, "::1", 8080, 8080)]),
        ("::1:8080:80", [PortRequest("tcp", 80, "::1", 8080, 8080)]),
        ("8000-8010:80", [PortRequest("tcp", 80, "", 8000, 8010)]),
        (
            "8000-8001:80-81",
            [PortRequest("tcp", 80, "", 8000, 8000), PortRequest("tcp", 81, "", 8001, 8001)],
        ),
        ("80-81", [PortRequest("tcp", 80, "", 0, 0), PortRequest("tcp", 81, "", 0, 0)]),
        ("published=8080,target=80", [PortRequest("tcp", 80, "", 8080, 8080)]),
        ("target=53,protocol=udp,mode=host", [PortRequest("udp", 53, "", 0, 0)]),
        # as docker/cli: keys it does not know (host_ip, name) are ignored
        ("published=8080,target=80,host_ip=::1,name=web", [PortRequest("tcp", 80, "", 8080, 8080)]),
    ],
)
def test_publish_specs_read_as_docker_reads_them(spec: str, expected: list[PortRequest]) -> None:
    assert parse_publish(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("abc", "invalid containerPort: abc"),
        ("published=8080", "no port specified: 8080:/tcp<empty>"),
        ("target=80,x", "invalid publish opts format (should be name=value but got 'x')"),
        ("+80", "invalid containerPort: +80"),
        ("8_080:80", "invalid hostPort: 8_080"),
        ("80: 80", "invalid containerPort:  80"),
        ("8080:", "no port specified: 8080:<empty>"),
        ("x:80", "invalid hostPort: x"),
        ("70000:80", "invalid hostPort: 70000"),
        ("80:0", "invalid containerPort: 0"),
        ("90-80", "invalid containerPort: 90-80"),
        ("1.2.3:80:80", "invalid IP address: 1.2.3"),
        ("80/icmp", "invalid proto: icmp"),
        ("80/sctp", "invalid proto: sctp (dockyard publishes tcp and udp ports)"),
        (
            "8000-8001:80-82",
            "invalid ranges specified for container and host Ports: 80-82 and 8000-8001",
        ),
    ],
)
def test_bad_publish_specs_are_refused_with_docker_words(spec: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_publish(spec)
    assert str(caught.value) == message


def test_bindings_round_trip_through_the_host_config() -> None:
    requests = parse_publish("127.0.0.1:8000-8010:80") + parse_publish("53/udp")
    bindings = port_bindings(requests)
    assert bindings == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000-8010"}],
        "53/udp": [{"HostIp": "", "HostPort": ""}],
    }
    assert requests_from_host_config({"PortBindings": bindings}, None) == requests


def test_publish_all_adds_every_exposed_port_not_bound_already() -> None:
    host = {"PortBindings": port_bindings(parse_publish("8080:80")), "PublishAllPorts": True}
    exposed = exposed_ports(["90-91/udp"], parse_publish("8080:80"))
    assert exposed == {"90/udp": {}, "91/udp": {}, "80/tcp": {}}
    assert requests_from_host_config(host, exposed) == [
        PortRequest("tcp", 80, "", 8080, 8080),
        PortRequest("udp", 90, "", 0, 0),
        PortRequest("udp", 91, "", 0, 0),
    ]


PUBLISHED = {
    "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
    "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
}


def _published(*mappings: tuple[str, str, int]) -> dict[str, list[dict[str, str]]]:
    published: dict[str, list[dict[str, str]]] = {}
    for key, ip, port in mappings:
        published.setdefault(key, []).append({"HostIp": ip, "HostPort": str(port)})
    return published


@pytest.mark.parametrize(
    ("published", "exposed", "shown"),
    [
        (PUBLISHED, {"80/tcp": {}, "443/tcp": {}},
         "443/tcp, 127.0.0.1:5353->53/udp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"),
        (_published(*[(f"{p}/tcp", ip, p) for p in (8000, 8001, 8002) for ip in ("0.0.0.0", "::")]),
         None, "0.0.0.0:8000-8002->8000-8002/tcp, [::]:8000-8002->8000-8002/tcp"),
        ({}, {"7000/tcp": {}, "7001/tcp": {}, "7002/tcp": {}, "7004/tcp": {}},
         "7000-7002/tcp, 7004/tcp"),
        (_published(("18200/tcp", "0.0.0.0", 18200), ("18201/tcp", "0.0.0.0", 18201),
                    ("80/tcp", "0.0.0.0", 18210)),
         {"443/tcp": {}}, "443/tcp, 0.0.0.0:18200-18201->18200-18201/tcp, 0.0.0.0:18210->80/tcp"),
    ],
)  # fmt: skip
def test_ps_ports_column_is_docker_clis(
    published: dict[str, list[dict[str, str]]], exposed: dict[str, object] | None, shown: str
) -> None:
    """docker/cli's DisplayablePorts: ranges grouped; remapped ports last."""
    assert display_ports(published, exposed) == shown


def test_port_command_lines() -> None:
    assert port_lines(PUBLISHED, None) == [
        "53/udp -> 127.0.0.1:5353",
        "80/tcp -> 0.0.0.0:8080",
        "80/tcp -> [::]:8080",
    ]
    assert port_lines(PUBLISHED, "80") == ["0.0.0.0:8080", "[::]:8080"]
    assert port_lines(PUBLISHED, "53/udp") == ["127.0.0.1:5353"]
    assert port_lines(PUBLISHED, "81") == []


def test_ps_port_filters_read_as_mobys() -> None:
    assert PortFilter.parse("publish", "80") == PortFilter(80, 80, "tcp")
    assert PortFilter.parse("expose", "8000-8002/udp") == PortFilter(8000, 8002, "udp")
    assert PortFilter.parse("expose", "8000-8002/udp").matches(8001, "udp")
    assert not PortFilter.parse("publish", "80/TCP").matches(80, "tcp")  # as given, as moby
    with pytest.raises(ConfigError) as colon:
        PortFilter.parse("publish", "127.0.0.1:80")
    assert str(colon.value) == "filter for 'publish' should not contain ':': 127.0.0.1:80"
    with pytest.raises(ConfigError):
        PortFilter.parse("expose", "eighty")
