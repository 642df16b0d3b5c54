"""Text from scripts and models never reaches the page as HTML, and the server keeps its safe defaults.

A static check over `studio/` and `pages/`: every call that renders raw HTML (`st.html`, `components.html`, any
call with `unsafe_allow_html=True`) is one of the reviewed call sites below, and its argument is a constant or
comes from an escaping helper of `studio/widgets.py`. A new call site fails this test until it is reviewed and
added here. The behavioural side (a script full of markup shown as text) is `tests/studio/test_page_escaping.py`.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
UI_DIRS = ("studio", "pages")

# Helpers of studio/widgets.py that build HTML only from `html.escape`d text.
ESCAPING_HELPERS = {"diff_html"}

# (file, enclosing function) of every reviewed raw-HTML call, and why it is safe.
REVIEWED = {
    ("studio/widgets.py", "install_css"): "the static stylesheet `_CSS`, a module constant",
    ("studio/prompt_panels.py", "compare_panel"): "a word diff built by widgets.diff_html (escaped tokens)",
}


@dataclass(frozen=True)
class HtmlCall:
    file: str
    function: str
    line: int
    argument: ast.expr | None


def _module_constants(tree: ast.Module) -> set[str]:
    """Module-level names bound once to a string literal or an f-string of literals and constants."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if _is_constant(node.value, names):
                names.add(node.targets[0].id)
    return names


def _is_constant(expr: ast.expr, constants: set[str]) -> bool:
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, str)
    if isinstance(expr, ast.Name):
        return expr.id in constants
    if isinstance(expr, ast.JoinedStr):
        return all(isinstance(v, ast.Constant) or (isinstance(v, ast.FormattedValue)
                                                    and _is_constant(v.value, constants)) for v in expr.values)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        return _is_constant(expr.left, constants) and _is_constant(expr.right, constants)
    return False


def _is_escaped(expr: ast.expr) -> bool:
    """A call of an escaping helper (`diff_html(...)`, `widgets.diff_html(...)`, `html.escape(...)`)."""
    if not isinstance(expr, ast.Call):
        return False
    func = expr.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
    return name in ESCAPING_HELPERS or (owner == "html" and name == "escape")


def _html_calls(path: Path, rel: str | None = None) -> tuple[list[HtmlCall], set[str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    rel = rel or path.relative_to(ROOT).as_posix()
    found: list[HtmlCall] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            scope = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Call):
                raw_kw = any(k.arg == "unsafe_allow_html" and not (isinstance(k.value, ast.Constant)
                                                                    and k.value.value is False)
                             for k in child.keywords)
                html_fn = (isinstance(child.func, ast.Attribute) and child.func.attr == "html"
                           and not (isinstance(child.func.value, ast.Name) and child.func.value.id == "html"))
                if raw_kw or html_fn:
                    arg = child.args[0] if child.args else next(
                        (k.value for k in child.keywords if k.arg in ("body", "html", "body_html")), None)
                    found.append(HtmlCall(rel, function, child.lineno, arg))
            visit(child, scope)

    visit(tree, "<module>")
    return found, _module_constants(tree)


def _all_html_calls() -> list[tuple[HtmlCall, set[str]]]:
    out: list[tuple[HtmlCall, set[str]]] = []
    for folder in UI_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            calls, constants = _html_calls(path)
            out.extend((call, constants) for call in calls)
    return out


def test_every_raw_html_call_is_reviewed_and_renders_only_constants_or_escaped_text() -> None:
    calls = _all_html_calls()
    unreviewed = [f"{c.file}:{c.line} in {c.function}" for c, _ in calls if (c.file, c.function) not in REVIEWED]
    assert not unreviewed, f"raw HTML call sites not reviewed (add them to REVIEWED once safe): {unreviewed}"
    unsafe = [f"{c.file}:{c.line}" for c, constants in calls
              if c.argument is None or not (_is_constant(c.argument, constants) or _is_escaped(c.argument))]
    assert not unsafe, f"raw HTML from something other than a constant or an escaping helper: {unsafe}"
    # Every reviewed site still exists: a stale entry would silently admit a future call at that place.
    assert {(c.file, c.function) for c, _ in calls} == set(REVIEWED)


def test_the_checker_catches_user_text_in_raw_html(tmp_path: Path) -> None:
    """The detector itself: a page that pours a variable into raw HTML is flagged, escaped text is not."""
    page = tmp_path / "probe.py"
    page.write_text(
        "import html\nimport streamlit as st\nfrom studio import widgets\nTITLE = 'x'\n"
        "def draw(text):\n"
        "    st.markdown(f'<b>{text}</b>', unsafe_allow_html=True)\n"
        "    st.html(text)\n"
        "    st.html(widgets.diff_html([]))\n"
        "    st.markdown(html.escape(text), unsafe_allow_html=True)\n"
        "    st.html(TITLE)\n", encoding="utf-8")
    calls, constants = _html_calls(page, "pages/probe.py")
    verdicts = [_is_constant(c.argument, constants) or _is_escaped(c.argument) for c in calls if c.argument]
    assert verdicts == [False, False, True, True, True]
    assert {c.function for c in calls} == {"draw"}


def test_the_diff_helper_escapes_every_token() -> None:
    from studio.widgets import diff_html

    out = diff_html([("equal", "<script>x</script>"), ("insert", "<img src=x onerror=alert(1)>"),
                     ("delete", '" onmouseover="y')])
    assert "<script>" not in out and "<img" not in out and '" onmouseover' not in out
    assert "&lt;script&gt;" in out and "<ins>&lt;img src=x onerror=alert(1)&gt;</ins>" in out


def test_streamlit_config_keeps_xsrf_on_and_safe_production_defaults() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    server, client = config.get("server", {}), config.get("client", {})
    assert server.get("enableXsrfProtection") is True
    assert server.get("address") == "127.0.0.1"  # single-user default; a shared server sets it in deployment
    assert server.get("headless") is True and server.get("runOnSave") is False
    assert config.get("browser", {}).get("gatherUsageStats") is False
    assert client.get("showErrorDetails") in ("none", False)  # no tracebacks (with paths and values) in pages
    assert client.get("toolbarMode") in ("minimal", "viewer")  # no developer menu for producers
    # CORS stays on (the default): with it off, other origins could call the server from a browser.
    assert server.get("enableCORS", True) is True
    assert server.get("enableStaticServing", False) is False and server.get("fileWatcherType") == "none"
    assert "cookieSecret" not in server  # a secret belongs in the environment, never in the repository
    # The browser-side cap matches core's (MAX_UPLOAD_MB), so a big file gets core's message, not Streamlit's.
    assert server.get("maxUploadSize") == Settings.model_fields["max_upload_mb"].default
