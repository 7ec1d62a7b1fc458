"""The house rules of docs/architecture.md, checked on the source (AST, nothing imported but the tables).

pages -> medcore.ui -> capability -> medcore.core: streamlit only in ui/, pages/ and app.py;
no capability imports another; core imports no capability; the capability table, the page
table, pages/ and models/ agree with each other.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from medcore.core.registry import CAPABILITIES
from tests.conftest import PROJECT

PACKAGE = PROJECT / "medcore"
CROSS_CUTTING = {"core", "ui", "api"}  # packages under medcore/ that are not capabilities
CAPABILITY_PACKAGES = {row.package.rsplit(".", 1)[1] for row in CAPABILITIES.values()}


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions (``from a import b`` -> ``a`` and ``a.b``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _medcore_part(module: str) -> str | None:
    """``medcore.imaging.model`` -> ``imaging``; ``medcore`` itself or a non-medcore module -> None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "medcore" and len(parts) > 1 else None


def _package_files(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def test_the_package_is_one_folder_per_capability_over_core():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert CAPABILITY_PACKAGES <= folders, "every capability in the registry's table has its folder"
    assert folders - CAPABILITY_PACKAGES <= CROSS_CUTTING, (
        f"folders that are neither a capability in CAPABILITIES nor core/ui/api: {folders - CAPABILITY_PACKAGES - CROSS_CUTTING}"
    )
    plain = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(plain) <= 8, f"at most 8 plain modules at the top of medcore/: {plain}"


def test_streamlit_is_imported_only_by_the_ui_package_pages_and_app():
    offenders = [
        str(path.relative_to(PROJECT))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "streamlit" in {m.split(".")[0] for m in _imports(path)} and "ui" not in path.relative_to(PACKAGE).parts[:1]
    ]
    assert offenders == [], "only medcore/ui/ (and pages/, app.py) may import streamlit"


@pytest.mark.parametrize("capability", sorted(CAPABILITY_PACKAGES))
def test_a_capability_imports_core_and_itself_only(capability):
    for path in _package_files(capability):
        for module in _imports(path):
            part = _medcore_part(module)
            assert part in (None, "core", capability), (
                f"{path.relative_to(PROJECT)} imports {module}: a capability uses medcore.core and itself, "
                "never another capability, the ui, the CLI or the API"
            )


def test_core_imports_no_capability_and_no_ui():
    for path in _package_files("core"):
        for module in _imports(path):
            part = _medcore_part(module)
            assert part in (None, "core"), f"{path.relative_to(PROJECT)} imports {module}; core imports only core"


def test_the_capability_table_points_at_real_loaders_and_trainers():
    """Checked on the source, so no TensorFlow import: each row's model.py and train.py define its functions."""
    for kind, row in CAPABILITIES.items():
        folder = PACKAGE / row.package.rsplit(".", 1)[1]
        for file_name, function in ((f"{row.model_module}.py", row.loader), (f"{row.train_module}.py", row.trainer)):
            tree = ast.parse((folder / file_name).read_text(encoding="utf-8"))
            defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
            assert function in defined, f"{kind}: {row.package}.{file_name[:-3]} has no function {function}"
        assert (folder / "evaluate.py").is_file(), f"{kind}: {row.package} needs an evaluate module"


def test_every_shipped_bundle_has_a_capability_that_loads_and_trains_it():
    trainable = {name: kind for kind, row in CAPABILITIES.items() for name in row.models}
    for card_file in sorted((PROJECT / "models").glob("*/card.json")):
        card = json.loads(card_file.read_text(encoding="utf-8"))
        assert card["kind"] in CAPABILITIES, f"{card['name']}: no capability for kind '{card['kind']}'"
        assert trainable.get(card["name"]) == card["kind"], f"{card['name']}: not trainable by its capability"


# -- pages --------------------------------------------------------------------------------------
def _page_table():
    # medcore.ui imports streamlit, which the test environment has; the table itself is plain data.
    from medcore.ui.navigation import PAGES, SECTIONS

    return PAGES, SECTIONS


def test_every_page_file_is_in_the_navigation_once_and_in_a_known_section():
    pages, sections = _page_table()
    files = sorted(str(p.relative_to(PROJECT)) for p in (PROJECT / "pages").glob("*.py"))
    listed = [entry.file for entry in pages]
    assert sorted(listed) == files and len(set(listed)) == len(listed)
    assert {entry.section for entry in pages} <= set(sections)
    assert [entry.title for entry in pages if not entry.url_path] == ["Home"], "one home page, titled Home"
    paths = [entry.url_path for entry in pages]
    assert len(set(paths)) == len(paths)
    # A fresh server resolves a bookmarked URL from the file names until st.navigation first runs.
    assert all(Path(entry.file).stem == entry.url_path for entry in pages if entry.url_path)


def test_every_page_icon_is_a_material_icon_that_needs_no_emoji_font():
    import re

    pages, _ = _page_table()
    icons = [entry.icon for entry in pages]
    assert all(re.fullmatch(r":material/[a-z0-9_]+:", icon) for icon in icons), icons
    assert len(set(icons)) == len(icons)  # each page recognisable by its icon
    # The tab icon is drawn locally: a Material page_icon is fetched from fonts.gstatic.com.
    assert "page_icon=ui.favicon()" in (PROJECT / "app.py").read_text()


def test_each_page_uses_the_ui_package_and_points_at_the_folder_that_does_its_work():
    pages, _ = _page_table()
    for entry in pages:
        imports = _imports(PROJECT / entry.file)
        assert "medcore.ui" in imports, f"{entry.file} does not go through medcore.ui"
        assert any(m == entry.works_in or m.startswith(entry.works_in + ".") for m in imports), (
            f"{entry.file} says its work is in {entry.works_in} but does not import it"
        )
        for module in imports:
            assert not module.endswith(".train") and _medcore_part(module) not in ("cli", "api"), (
                f"{entry.file} imports {module}: pages never train and never call the CLI or the service"
            )


def test_app_is_only_the_router():
    imports = {m for m in _imports(PROJECT / "app.py") if m.startswith("medcore")}
    assert imports <= {"medcore", "medcore.ui"}


def test_the_architecture_page_names_every_page_and_capability():
    pages, _ = _page_table()
    text = (PROJECT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for entry in pages:
        assert f"`{entry.file}`" in text and f"`/{entry.url_path}`" in text, f"docs/architecture.md misses {entry.file}"
    for kind, row in CAPABILITIES.items():
        assert f"`{kind}`" in text and f"`{row.package}`" in text, f"docs/architecture.md misses capability {kind}"
        assert all(f"`{name}`" in text for name in row.models)
    assert "docs/architecture.md" in (PROJECT / "README.md").read_text(encoding="utf-8")


def test_the_service_never_imports_the_ui_or_the_cli():
    for path in _package_files("api"):
        for module in _imports(path):
            assert _medcore_part(module) not in ("ui", "cli"), f"{path.relative_to(PROJECT)} imports {module}"


def test_pages_stay_thin():
    """Issue 28 item 20: a page is at most 200 lines; shared widgets live in medcore/ui/."""
    long = {
        page.name: count
        for page in sorted((PROJECT / "pages").glob("*.py"))
        if (count := len(page.read_text(encoding="utf-8").splitlines())) > 200
    }
    assert not long, f"pages over 200 lines: {long}; move widgets into medcore/ui/"
