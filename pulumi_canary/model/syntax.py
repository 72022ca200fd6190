"""Syntax checks every gateway shares: Kubernetes names and labels, HTTP paths (RE2 regexes included)
and HTTP header names and values. The rules one gateway adds live in its module under ``gateways/``.

Every check takes a string and returns ``None`` when it is valid, or a sentence saying what is wrong
(starting with the quoted value, so it reads well after a property path). The rules are the ones the
Kubernetes apiserver and the Gateway API CRDs enforce, so anything accepted here is accepted there.
"""

from __future__ import annotations

import re

from ._text import show

__all__ = [
    "MAX_PATH_LENGTH",
    "dns1035_label_problem",
    "dns1123_label_problem",
    "dns1123_subdomain_problem",
    "header_name_problem",
    "header_value_problem",
    "is_host_name",
    "label_key_problem",
    "label_value_problem",
    "path_problem",
    "version_problem",
]

MAX_PATH_LENGTH = 1024
"""The longest path any supported gateway accepts (the Gateway API's HTTPPathMatch limit)."""

_LABEL_NAME = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS1123_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
_DNS1035_LABEL = re.compile(r"[a-z](?:[-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
_WILDCARD_HOST = re.compile(r"(?:\*\.)?[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_EXCEPT_TAB = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

_LABEL_RULE = (
    "must be 63 characters or less, start and end with an alphanumeric character, "
    "and contain only alphanumerics, '-', '_' or '.'"
)
_DNS1123_LABEL_RULE = (
    "must be a DNS-1123 label: 63 characters or less, only lowercase letters, digits and '-', "
    "starting and ending with a letter or digit (e.g. 'my-name')"
)
_DNS1035_LABEL_RULE = (
    "must be a DNS-1035 label: 63 characters or less, only lowercase letters, digits and '-', "
    "starting with a letter and ending with a letter or digit (e.g. 'demo-service')"
)
_DNS1123_SUBDOMAIN_RULE = (
    "must be a DNS-1123 subdomain: 253 characters or less, lowercase dot-separated labels of letters, "
    "digits and '-', each starting and ending with a letter or digit (e.g. 'example.com')"
)


def label_value_problem(value: str) -> str | None:
    """A Kubernetes label value: empty, or <= 63 characters of the label-name alphabet."""
    if value == "" or (len(value) <= 63 and _LABEL_NAME.fullmatch(value)):
        return None
    return f"{show(value)} is not a valid label value: {_LABEL_RULE}"


def version_problem(value: str) -> str | None:
    """A version is a label value that selects pods, so unlike a plain label value it cannot be empty."""
    if value == "":
        return "must not be empty: a version is the label value its pods carry, e.g. 'v1'"
    return label_value_problem(value)


def label_key_problem(key: str) -> str | None:
    """A Kubernetes label key: ``[prefix/]name``, prefix a DNS-1123 subdomain, name like a label value."""
    if key == "":
        return "must not be empty: give the pod label that carries the version, e.g. 'version'"
    prefix, slash, name = key.rpartition("/")
    if slash and "/" in prefix:
        return f"{show(key)} is not a valid label key: it may contain at most one '/'"
    if slash and (prefix == "" or dns1123_subdomain_problem(prefix) is not None):
        return f"{show(key)} is not a valid label key: the prefix before '/' {_DNS1123_SUBDOMAIN_RULE}"
    if name == "" or len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        return f"{show(key)} is not a valid label key: the name after any 'prefix/' {_LABEL_RULE}"
    return None


def dns1123_label_problem(value: str, what: str = "name") -> str | None:
    """Namespaces and most Kubernetes names: ``[a-z0-9]([-a-z0-9]*[a-z0-9])?``, <= 63 characters."""
    if len(value) <= 63 and _DNS1123_LABEL.fullmatch(value):
        return None
    return f"{show(value)} is not a valid {what}: {_DNS1123_LABEL_RULE}"


def dns1035_label_problem(value: str, what: str = "name") -> str | None:
    """Kubernetes Service names: like a DNS-1123 label, but must start with a letter."""
    if len(value) <= 63 and _DNS1035_LABEL.fullmatch(value):
        return None
    return f"{show(value)} is not a valid {what}: {_DNS1035_LABEL_RULE}"


def dns1123_subdomain_problem(value: str, what: str = "name") -> str | None:
    """Kubernetes object names such as Gateways and HTTPRoutes: dot-separated DNS labels, <= 253."""
    if len(value) <= 253 and _DNS1123_SUBDOMAIN.fullmatch(value):
        return None
    return f"{show(value)} is not a valid {what}: {_DNS1123_SUBDOMAIN_RULE}"


def is_host_name(value: str) -> bool:
    """A lowercase DNS name, optionally starting with a ``*.`` wildcard label: the hosts routes match."""
    return len(value) <= 253 and _WILDCARD_HOST.fullmatch(value) is not None


def path_problem(path: str, path_type: str) -> str | None:
    """An HTTP path match valid on every gateway: absolute for prefix/exact, RE2-compatible for regex."""
    if path == "":
        return "must not be empty: give a path such as '/demo'"
    if len(path) > MAX_PATH_LENGTH:
        return f"{show(path)} is too long: paths are limited to {MAX_PATH_LENGTH} characters"
    if _CONTROL.search(path) or " " in path:
        return f"{show(path)} is not a valid path: it must not contain spaces or control characters"
    if path_type == "regex":
        return _regex_problem(path)
    if not path.startswith("/"):
        return f"{show(path)} is not a valid {path_type} path: it must start with '/', e.g. '/demo'"
    return None


def header_name_problem(name: str) -> str | None:
    """An HTTP header name: an RFC 7230 token of at most 256 characters (the Gateway API limit)."""
    if name == "":
        return "a header name must not be empty"
    if len(name) > 256 or not _TOKEN.fullmatch(name):
        return (
            f"{show(name)} is not a valid HTTP header name: it must be 1 to 256 letters, digits "
            "or \"!#$%&'*+-.^_`|~\" (an RFC 7230 token), e.g. 'x-canary'"
        )
    return None


def header_value_problem(value: str) -> str | None:
    """A header value to match: 1 to 4096 characters without line breaks or control characters."""
    if value == "":
        return "must not be empty: give the exact header value that selects the canary, e.g. 'always'"
    if len(value) > 4096:
        return f"{show(value)} is too long: header values are limited to 4096 characters"
    if _CONTROL_EXCEPT_TAB.search(value):
        return f"{show(value)} is not a valid header value: no line breaks or control characters are allowed"
    return None


def _regex_problem(pattern: str) -> str | None:
    """Gateways match with RE2, which Python's ``re`` mostly agrees with; reject what RE2 lacks."""
    unsupported = _re2_unsupported(pattern)
    if unsupported is not None:
        return f"{show(pattern)} uses {unsupported}, which the gateways' RE2 regular expressions lack"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"{show(pattern)} is not a valid regular expression: {exc}"
    except Exception:  # RecursionError / OverflowError on absurd nesting
        return f"{show(pattern)} is not a usable regular expression: it is too deeply nested"
    return None


def _re2_unsupported(pattern: str) -> str | None:
    """Find lookarounds, backreferences and conditionals outside character classes."""
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            following = pattern[index + 1 : index + 2]
            if not in_class and following.isdigit() and following != "0":
                return "a backreference"
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), index):
            return "a lookaround assertion"
        elif pattern.startswith(("(?P=", "(?("), index):
            return "a backreference"
        index += 1
    return None
