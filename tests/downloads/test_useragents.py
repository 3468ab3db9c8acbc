import pytest

from bastion.downloads.useragents import Installer, installer_class, parse_user_agent

PIP_JSON = (
    'pip/24.0 {"ci":null,"cpu":"x86_64","distro":{"name":"Ubuntu","version":"24.04"},'
    '"implementation":{"name":"CPython","version":"3.12.3"},'
    '"installer":{"name":"pip","version":"24.0"},"python":"3.12.3"}'
)
UV_JSON = 'uv/0.5.0 {"installer":{"name":"uv","version":"0.5.0"},"python":"3.12.1","ci":true}'


@pytest.mark.parametrize(
    ("agent", "expected", "klass"),
    [
        (PIP_JSON, Installer("pip", "24.0", None), "installer"),
        (UV_JSON, Installer("uv", "0.5.0", True), "installer"),
        ("pip/1.5.6 CPython/2.7.6 Linux/3.13.0", Installer("pip", "1.5.6"), "installer"),
        ("uv/0.1.10", Installer("uv", "0.1.10"), "installer"),
        ("poetry/1.8.3", Installer("poetry", "1.8.3"), "installer"),
        ("pdm/2.19.1", Installer("pdm", "2.19.1"), "installer"),
        ("pex/2.1.137", Installer("pex", "2.1.137"), "installer"),
        ("conda/23.1.0 requests/2.28.1 CPython/3.10.9", Installer("conda", "23.1.0"), "installer"),
        ("Bazel/release 6.0.0", Installer("Bazel", "6.0.0"), "installer"),
        ("setuptools/68.0 Python-urllib/3.11", Installer("setuptools", "68.0"), "installer"),
        (
            "bandersnatch/6.5.0 (CPython 3.11.4-final0, Linux x86_64)",
            Installer("bandersnatch", "6.5.0"),
            "mirror",
        ),
        ("devpi-server/6.9.2 (py3.11.4; linux)", Installer("devpi", "6.9.2"), "mirror"),
        ("z3c.pypimirror/1.0.16", Installer("z3c.pypimirror", "1.0.16"), "mirror"),
        ("Artifactory/7.71.5 (Linux)", Installer("Artifactory", "7.71.5"), "mirror"),
        ("Nexus/3.61.0-02 (OSS; Linux; 5.15)", Installer("Nexus", "3.61.0-02"), "mirror"),
        ("pep381client/1.5", Installer("pep381client", "1.5"), "mirror"),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            Installer("Browser", "128.0"),
            "browser",
        ),
        ("python-requests/2.32.3", Installer("requests", "2.32.3"), "other"),
        ("curl/8.5.0", Installer("curl", "8.5.0"), "other"),
        ("twine/6.1.0 CPython/3.12.1", Installer("twine", "6.1.0"), "other"),
    ],
)
def test_agents_are_recognised_and_classed_like_linehaul(agent, expected, klass):
    assert parse_user_agent(agent) == expected
    assert installer_class(expected.name) == klass


@pytest.mark.parametrize("agent", [None, "", "SomeBot/1.0", "Go-http-client/1.1"])
def test_unknown_agents_have_no_installer_and_are_other(agent):
    assert parse_user_agent(agent) is None
    assert installer_class(None) == "other"


def test_broken_pip_json_falls_back_to_the_version_in_the_prefix():
    assert parse_user_agent('pip/24.0 {"broken json') == Installer("pip", "24.0")


def test_only_a_literal_true_marks_ci():
    agent = 'pip/24.0 {"installer":{"name":"pip","version":"24.0"},"ci":"yes"}'
    assert parse_user_agent(agent).ci is None
