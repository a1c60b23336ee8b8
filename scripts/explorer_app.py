"""Serve notebook 06 (the latent-space explorers) as a stand-alone app with Voilà, offline.

    python -m scripts.explorer_app serve [--port 8866]          # make explorer
    python -m scripts.explorer_app screenshot docs/explorer.png   # make screenshots-explorer

Voilà runs the notebook in a fresh kernel when the page is opened and shows its outputs with
the code cells hidden: the AE/VAE explorer first, the adversarial autoencoder's and the
conditional VAE's explorers further down.
The server listens on 127.0.0.1 only, and the page uses the ``aelib-offline`` template
(``scripts/jupyter/voila/templates``): Voilà's ``lab`` page minus the two style sheets it would
fetch from a CDN, so nothing is requested beyond this machine.

The functions here (``start``, ``stop``, ``open_explorer``) are shared by the screenshot, the
browser test (tests/test_explorer_browser.py) and the benchmark (benchmarks/bench_explorer.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "06_latent_space_explorer.ipynb"
TEMPLATE_ROOT = Path(__file__).resolve().parent / "jupyter"
TEMPLATE = "aelib-offline"
DEFAULT_PORT = 8866
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run"]
#: CSS selectors of the explorers' parts (classes added by aelib.widgets.LatentExplorer and
#: ConditionalExplorer): the AE/VAE explorer, the adversarial autoencoder's and the conditional
#: VAE's, and within them the maps and the decoded images; the conditional one's style row,
#: digit buttons, test image box and test image.
EXPLORER = ".aelib-explorer-ae-vae"
ADVERSARIAL = ".aelib-explorer-aae"
CONDITIONAL = ".aelib-conditional-explorer"
MAP = "img.aelib-latent-map"
DECODED = "img.aelib-decoded"
STYLE_ROW = "img.aelib-style-row"
DIGITS = ".aelib-digit-buttons"
TEST_INDEX = ".aelib-test-index input"
TEST_IMAGE = "img.aelib-test-image"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def voila_command(port: int, notebook: Path = NOTEBOOK) -> list[str]:
    """The Voilà command line: loopback only, no browser, code cells hidden, offline page."""
    voila = Path(sys.executable).with_name("voila")
    return [str(voila) if voila.exists() else "voila", str(notebook), "--no-browser",
            "--Voila.ip=127.0.0.1", f"--port={port}", "--Voila.port_retries=0",
            "--strip_sources=True", "--progressive_rendering=True", f"--template={TEMPLATE}",
            "--VoilaConfiguration.show_tracebacks=True"]


def voila_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment, plus the template folder on JUPYTER_PATH and ``extra``."""
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(TEMPLATE_ROOT),
                                                        env.get("JUPYTER_PATH")]))
    env.update(extra or {})
    return env


@dataclass
class Server:
    """A running Voilà server: its process and the page's address."""

    process: subprocess.Popen
    url: str
    log: Path


def _wait_until_up(server: Server, timeout: float) -> None:
    """Wait until the server accepts connections (a GET of the page would already run the
    notebook in a kernel, so only the port is probed)."""
    deadline = time.monotonic() + timeout
    port = urlparse(server.url).port
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"voila exited with status {server.process.returncode}; "
                               f"see {server.log}:\n{server.log.read_text()[-2000:]}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"voila did not answer on {server.url} within {timeout:.0f} s; "
                       f"see {server.log}")


def start(*, port: int | None = None, env: Mapping[str, str] | None = None,
          log: Path | None = None, timeout: float = 60.0) -> Server:
    """Start Voilà on 127.0.0.1 (a free port unless ``port``) and wait until it answers.

    ``env`` is added to this process's environment (e.g. AELIB_FAST, AELIB_CACHE_DIR); the
    server's output goes to ``log`` (a temporary file by default). Stop it with ``stop``.
    """
    port = free_port() if port is None else port
    if log is None:
        import tempfile
        log = Path(tempfile.mkstemp(prefix="voila-", suffix=".log")[1])
    with open(log, "wb") as handle:
        process = subprocess.Popen(voila_command(port), env=voila_env(env), cwd=ROOT,
                                   stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Server(process, f"http://127.0.0.1:{port}/", Path(log))
    try:
        _wait_until_up(server, timeout)
    except BaseException:
        stop(server)
        raise
    return server


def stop(server: Server, timeout: float = 10.0) -> list[int]:
    """Stop the server and every process it started (its kernels); return their ids.

    Terminates the children first, then the server, and kills whatever is left after
    ``timeout`` seconds.
    """
    import psutil

    try:
        parent = psutil.Process(server.process.pid)
        family = parent.children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    pids = [server.process.pid, *(p.pid for p in family)]
    for proc in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    server.process.terminate()
    try:
        server.process.wait(timeout)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout)
    _, alive = psutil.wait_procs(family, timeout=timeout)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=timeout)
    return pids


def is_loopback(url: str) -> bool:
    """Whether ``url`` stays on this machine (loopback host, or a data:/blob: URL)."""
    parsed = urlparse(url)
    return parsed.scheme in ("data", "blob") or parsed.hostname in LOOPBACK


def chromium() -> str:
    """The path of Debian's chromium; ValueError when it is not installed."""
    path = shutil.which("chromium")
    if path is None:
        raise ValueError("chromium is not installed: `apt-get install -y chromium`")
    return path


@contextlib.contextmanager
def open_explorer(browser, url: str, *, width: int = 1280, height: int = 1000,
                  timeout: float = 120.0) -> Iterator[object]:
    """A Playwright page showing the explorer at ``url``, every non-loopback request aborted.

    The aborted addresses are kept in ``page.blocked`` (a list). Waits until the decoded
    images of every explorer are drawn (the later ones appear as the notebook runs on).
    """
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.blocked = []

    def guard(route) -> None:
        if is_loopback(route.request.url):
            route.continue_()
        else:
            page.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    try:
        page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
        for explorer in (EXPLORER, ADVERSARIAL, CONDITIONAL):
            page.wait_for_selector(f"{explorer} {DECODED}", timeout=timeout * 1000)
        page.wait_for_function(
            f"[...document.querySelectorAll('{DECODED}, {STYLE_ROW}')].every("
            "img => img.complete && img.naturalWidth > 0)", timeout=timeout * 1000)
        yield page
    finally:
        context.close()


def screenshot(target: Path, *, env: Mapping[str, str] | None = None) -> Path:
    """Serve the explorer, move it to an interesting point, photograph it into ``target``."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    server = start(env=env, timeout=120)
    try:
        with sync_playwright() as play:
            browser = play.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
            try:
                with open_explorer(browser, server.url, height=900) as page:
                    explorer = page.locator(EXPLORER)
                    explorer.scroll_into_view_if_needed()
                    box = page.locator(MAP).nth(1).bounding_box()
                    old = page.locator(DECODED).first.get_attribute("src")
                    page.mouse.click(box["x"] + 0.45 * box["width"],
                                     box["y"] + 0.55 * box["height"])
                    page.wait_for_function(
                        f"document.querySelector('{DECODED}').src !== {old!r}")
                    page.wait_for_timeout(300)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    explorer.screenshot(path=str(target))
                    if page.blocked:
                        print(f"requests beyond this machine were blocked: {page.blocked}")
            finally:
                browser.close()
    finally:
        stop(server)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run Voilà in the foreground (Ctrl-C stops it)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    shot = commands.add_parser("screenshot", help="write a PNG of the explorer in chromium")
    shot.add_argument("target", type=Path, nargs="?", default=ROOT / "docs" / "explorer.png")
    args = parser.parse_args(argv)
    if args.command == "serve":
        print(f"Serving notebook 06 on http://127.0.0.1:{args.port}/ (Ctrl-C to stop)",
              flush=True)
        os.execvpe(voila_command(args.port)[0], voila_command(args.port), voila_env())
    path = screenshot(args.target)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
