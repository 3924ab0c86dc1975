"""Sphinx extension: leave sphinx-thebe's scripts out of every page.

Jupyter Book 1 always loads sphinx-thebe. This book starts no live kernels, and the
extension's inline configuration script ends up on each page twice (``const THEBE_JS_URL``
declared twice is a SyntaxError in the browser) and names a CDN the page must not need.
"""


def _is_thebe(script) -> bool:
    filename = getattr(script, "filename", None) or str(script)
    body = getattr(script, "attributes", {}).get("body", "") or ""
    return "thebe" in filename or "THEBE_JS_URL" in body


def _drop_thebe(app, pagename, templatename, context, doctree):
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_thebe(s)]


def setup(app):
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
