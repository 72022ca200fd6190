"""The stand-ins that let Traefik build from Go modules alone (stdlib only, like ``rig.tools``).

Traefik's go.mod leans on three things the Go module proxy reachable here does not give: a fork of
``github.com/abbot/go-http-auth`` (its zip is refused), ``github.com/traefik/traefik/dynamic/ext`` (a
folder of Traefik's repository, outside the module zip) and the SDKs of 13 lego DNS providers (refused).
Each becomes a folder of the wrapper module, written at build time, and a replace.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

LEGO_MODULE = "github.com/go-acme/lego/v5"
LEGO_VERSION = "v5.4.1"  # the version Traefik v3.7.13 requires
# The lego DNS providers whose SDKs the proxy refuses. ACME DNS-01 with them is lost; the rig uses no ACME.
REMOVED_DNS_PROVIDERS = (
    "alidns",
    "aliesa",
    "azion",
    "dnsimple",
    "edgedns",
    "edgeone",
    "huaweicloud",
    "oraclecloud",
    "regfish",
    "sakuracloud",
    "tencentcloud",
    "ucloud",
    "yandexcloud",
)
DNS_REGISTRY = "providers/dns/zz_gen_dns_providers.go"

# Replaces in a dependency's go.mod are ignored: Traefik's replace of gorilla/mux is repeated here.
MUX_REPLACE = {"github.com/gorilla/mux": "github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59"}
# Only the tests of nhooyr.io/websocket reach these (through gin and sonic), and `go mod tidy` walks them;
# without pins it would ask the proxy for their latest versions. Versions from sonic v1.15.1's go.mod.
TEST_ONLY_PINS = {
    "github.com/bytedance/gopkg": "v0.1.3",
    "github.com/bytedance/sonic/loader": "v0.5.1",
    "github.com/cloudwego/base64x": "v0.1.6",
    "github.com/twitchyliquid64/golang-asm": "v0.15.1",
}

EXT_STAND_IN = """package ext

// HTTP and Router are embedded (inline) in Traefik's dynamic configuration: empty, they add no field.
type HTTP struct{}

type Router struct{}
"""

HTTP_AUTH_STAND_IN = """// Package auth has the API of go-http-auth that Traefik's basicAuth and digestAuth
// middlewares use, and refuses every request: no password matches, no digest is accepted.
package auth

import "net/http"

type SecretProvider func(user, realm string) string

func CheckSecret(password, secret string) bool { return false }

type BasicAuth struct {
    Realm   string
    Secrets SecretProvider
}

func (a *BasicAuth) RequireAuth(w http.ResponseWriter, r *http.Request) {
    w.Header().Set("WWW-Authenticate", `Basic realm="`+a.Realm+`"`)
    refuse(w)
}

type DigestAuth struct {
    Realm   string
    Secrets SecretProvider
}

func NewDigestAuthenticator(realm string, secrets SecretProvider) *DigestAuth {
    return &DigestAuth{Realm: realm, Secrets: secrets}
}

func (a *DigestAuth) CheckAuth(r *http.Request) (string, *string) { return "", nil }

func (a *DigestAuth) RequireAuth(w http.ResponseWriter, r *http.Request) { refuse(w) }

func (a *DigestAuth) RequireAuthStale(w http.ResponseWriter, r *http.Request) { refuse(w) }

func DigestAuthParams(header string) map[string]string { return map[string]string{} }

func refuse(w http.ResponseWriter) {
    http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}
"""


def write_stand_ins(work: Path, lego_source: Path) -> dict[str, str]:
    """Write the stand-in modules under ``work`` and return the wrapper's replaces for them."""
    write_module(work / "ext", "github.com/traefik/traefik/dynamic/ext", "ext.go", EXT_STAND_IN)
    write_module(work / "go-http-auth", "github.com/abbot/go-http-auth", "auth.go", HTTP_AUTH_STAND_IN)
    copy_lego_without_refused_providers(lego_source, work / "lego")
    return {
        **MUX_REPLACE,
        "github.com/traefik/traefik/dynamic/ext": "./ext",
        "github.com/abbot/go-http-auth": "./go-http-auth",
        LEGO_MODULE: "./lego",
    }


def write_module(folder: Path, module: str, file_name: str, source: str) -> None:
    folder.mkdir()
    (folder / "go.mod").write_text(f"module {module}\n\ngo 1.26\n")
    (folder / file_name).write_text(source)


def copy_lego_without_refused_providers(source: Path, target: Path) -> None:
    removed = {source / "providers" / "dns" / name for name in REMOVED_DNS_PROVIDERS}

    def removed_names(folder: str, names: list[str]) -> list[str]:
        return [name for name in names if Path(folder, name) in removed]

    shutil.copytree(source, target, ignore=removed_names)
    # The module cache is read-only; the copy is edited below and deleted after the build.
    for path in (target, *target.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    registry = target / DNS_REGISTRY
    registry.write_text(drop_from_registry(registry.read_text(), REMOVED_DNS_PROVIDERS))


def drop_from_registry(text: str, providers: tuple[str, ...]) -> str:
    """Remove each provider's import and ``case`` from lego's generated registry: their names then get
    lego's own "unrecognized DNS provider" error."""
    for name in providers:
        import_line = rf'^\t"{re.escape(LEGO_MODULE)}/providers/dns/{name}"\n'
        case_lines = rf"^\tcase [^\n]*:\n\t\treturn {name}\.NewDNSProvider\(\)\n"
        text, imports = re.subn(import_line, "", text, flags=re.M)
        text, cases = re.subn(case_lines, "", text, flags=re.M)
        if (imports, cases) != (1, 1):
            raise SystemExit(f"[rig] lego {LEGO_VERSION}: {DNS_REGISTRY} has no single entry for {name}")
    return text
