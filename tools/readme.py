#!/usr/bin/env python3
"""Assemble the add-on's README the OCA way: auto_crm/readme/*.md fragments (DESCRIPTION, CONFIGURE, USAGE,
HISTORY, CONTRIBUTORS) and the manifest become auto_crm/README.md (shown on PyPI and by the wheel's metadata)
and auto_crm/static/description/index.html (shown in Odoo's Apps list).

    python tools/readme.py           # write both files
    python tools/readme.py --check   # exit 1 when either is not what the fragments make (CI: tools/dev lint)

Needs the `markdown` package (requirements-lint.txt). Edit the fragments, never the two generated files.
"""

import ast
import html
import pathlib
import sys

import markdown

ADDON = pathlib.Path(__file__).resolve().parent.parent / "auto_crm"
FRAGMENTS = ADDON / "readme"
SHOTS = ADDON / "static" / "description" / "screenshots"
README = ADDON / "README.md"
INDEX = ADDON / "static" / "description" / "index.html"
SECTIONS = [
    ("DESCRIPTION.md", None),
    ("SCREENSHOTS", "Screenshots"),
    ("CONFIGURE.md", "Configuration"),
    ("USAGE.md", "Usage"),
    ("HISTORY.md", "Changelog"),
    ("CREDITS", "Credits"),
]
SCREEN_TITLES = {
    "visit_board": "Workshop board (维修保养单)",
    "callback_board": "Callback board (回访任务)",
    "dashboard": "After-sales dashboard (售后看板)",
    "monthly_report": "Monthly callback report (回访月报)",
}
HEADER = "<!-- Made by tools/readme.py from readme/*.md and the manifest: edit those, not this file. -->\n\n"


def demote(text):
    """Headings of a fragment sit one level below the section's."""
    lines = []
    fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        lines.append("#" + line if line.startswith("#") and not fence else line)
    return "\n".join(lines).strip() + "\n"


def screenshots(prefix):
    rows = []
    for path in sorted(SHOTS.glob("*_en_US.png")):
        page = path.name[: -len("_en_US.png")]
        title = SCREEN_TITLES.get(page, page.replace("_", " ").capitalize())
        rows.append(f"### {title}\n\n![{title}]({prefix}{path.name})\n")
    return "\n".join(rows)


def build(prefix):
    manifest = ast.literal_eval((ADDON / "__manifest__.py").read_text(encoding="utf-8"))
    parts = [
        f"# {manifest['name']}\n",
        f"{manifest['summary']}\n",
        f"License {manifest['license']} · Odoo 18.0 · version {manifest['version']} · "
        f"`pip install odoo-addon-auto_crm`\n",
    ]
    for key, title in SECTIONS:
        if key == "SCREENSHOTS":
            body = screenshots(prefix)
        elif key == "CREDITS":
            contributors = (FRAGMENTS / "CONTRIBUTORS.md").read_text(encoding="utf-8").strip()
            body = f"### Authors\n\n- {manifest['author']}\n\n### Contributors\n\n{contributors}\n"
        else:
            body = demote((FRAGMENTS / key).read_text(encoding="utf-8"))
        if title:
            parts.append(f"## {title}\n")
        parts.append(body)
    return "\n".join(parts)


def page(text):
    body = markdown.markdown(text, extensions=["tables", "fenced_code"])
    title = html.escape(text.splitlines()[0].lstrip("# "))
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8"/>\n'
        f'<title>{title}</title>\n</head>\n<body>\n<div class="document">\n{body}\n</div>\n</body>\n</html>\n'
    )


def main(argv):
    readme = HEADER + build("static/description/screenshots/")
    index = page(build("screenshots/"))
    wanted = {README: readme, INDEX: index}
    if "--check" in argv:
        stale = [
            str(p.relative_to(ADDON.parent))
            for p, t in wanted.items()
            if not p.exists() or p.read_text(encoding="utf-8") != t
        ]
        if stale:
            print("not made from readme/*.md (run python tools/readme.py): " + ", ".join(stale))
            return 1
        return 0
    for path, text in wanted.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ADDON.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
