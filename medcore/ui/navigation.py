"""The dashboard's pages, grouped in sections, and the ``st.navigation`` built from them.

``PAGES`` is the one table of pages: the file in ``pages/``, its title, icon, URL path and
sidebar section, and the medcore folder that does its work (so a newcomer can go from any
page to its code; docs/architecture.md shows the same table). ``app.py`` runs
``navigation().run()``; every page file also runs on its own (``AppTest.from_file``).
A page file is named after its URL path (``pages/Image_Diagnosis.py`` -> ``/Image_Diagnosis``):
until some session of a fresh server has run ``app.py`` (and so ``st.navigation``), Streamlit
serves the ``pages/`` folder the old way, running a bookmarked URL's page file directly, without
``app.py`` and with a flat page list named after the files (for every session, until one opens
the home page). ``leave_pages_folder_mode``, the first thing every page file does (not ``app.py``,
whose ``st.navigation`` ends the mode itself), ends that mode and reruns, so ``app.py`` and its
sections take over; a test keeps the file names and paths equal, so the rerun finds the same page.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import streamlit as st

from medcore.core.settings import PROJECT_ROOT

__all__ = ["PageEntry", "PAGES", "SECTIONS", "navigation", "leave_pages_folder_mode", "favicon"]


@dataclass(frozen=True)
class PageEntry:
    """One page of the dashboard."""

    file: str  # relative to the project root
    title: str
    icon: str  # a Streamlit Material icon (":material/<name>:"): it renders without emoji fonts
    url_path: str  # "" for the home page, served at /
    section: str  # one of SECTIONS
    works_in: str  # the medcore package that does the page's work


# Sidebar sections in order; "" holds the home page above the first heading.
SECTIONS = ("", "Diagnosis", "Treatment", "Research", "Models")

PAGES: tuple[PageEntry, ...] = (
    PageEntry("pages/home.py", "Home", ":material/home:", "", "", "medcore.core.cards"),
    PageEntry(
        "pages/Image_Diagnosis.py",
        "Image diagnosis",
        ":material/radiology:",
        "Image_Diagnosis",
        "Diagnosis",
        "medcore.imaging",
    ),
    PageEntry(
        "pages/Symptom_Assessment.py",
        "Symptom assessment",
        ":material/sick:",
        "Symptom_Assessment",
        "Diagnosis",
        "medcore.assessment",
    ),
    PageEntry(
        "pages/Record_Classification.py",
        "Record classification",
        ":material/description:",
        "Record_Classification",
        "Diagnosis",
        "medcore.text",
    ),
    PageEntry(
        "pages/Service_Recommendation.py",
        "Care plan",
        ":material/event_note:",
        "Service_Recommendation",
        "Treatment",
        "medcore.care",
    ),
    PageEntry(
        "pages/Survival_Risk.py",
        "Survival and risk",
        ":material/monitoring:",
        "Survival_Risk",
        "Treatment",
        "medcore.survival",
    ),
    PageEntry(
        "pages/Warfarin_Dosing.py",
        "Warfarin dosing",
        ":material/medication:",
        "Warfarin_Dosing",
        "Treatment",
        "medcore.dosing",
    ),
    PageEntry(
        "pages/Drug_Activity.py",
        "Drug activity",
        ":material/science:",
        "Drug_Activity",
        "Research",
        "medcore.molecules",
    ),
    PageEntry(
        "pages/Literature_Extraction.py",
        "Literature extraction",
        ":material/menu_book:",
        "Literature_Extraction",
        "Research",
        "medcore.literature",
    ),
    PageEntry(
        "pages/Model_Evaluation.py",
        "Model evaluation",
        ":material/analytics:",
        "Model_Evaluation",
        "Models",
        "medcore.core.evaluate",
    ),
)


def navigation():
    """The sectioned ``st.navigation`` over ``PAGES`` (sections without pages are left out).

    Returns:
        The page the user chose; call ``.run()`` on it.
    """
    sections: dict[str, list] = {section: [] for section in SECTIONS}
    for entry in PAGES:
        sections[entry.section].append(
            st.Page(
                str(PROJECT_ROOT / entry.file),
                title=entry.title,
                icon=entry.icon,
                url_path=entry.url_path or None,
                default=not entry.url_path,
            )
        )
    return st.navigation({section: pages for section, pages in sections.items() if pages})


def leave_pages_folder_mode() -> None:
    """Rerun through ``app.py`` when Streamlit ran this page the old ``pages/``-folder way.

    On a fresh server, before any session has run ``app.py``, a page's URL runs its file directly:
    no sections, menu entries named after files ("app", "home"), no wide layout. Streamlit keeps
    that mode in a class flag that only ``st.navigation`` clears; clearing it here and rerunning
    makes this session (and every later one) run ``app.py``, which opens the same page.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if getattr(PagesManager, "uses_pages_directory", False) and st.runtime.exists():
        PagesManager.uses_pages_directory = False
        st.rerun()


@functools.cache
def favicon():
    """The browser tab's icon, drawn once per process (a PIL image Streamlit serves itself).

    A Material icon as ``page_icon`` makes the browser fetch its SVG from fonts.gstatic.com on
    every page load: a request to an outside host that a hospital network may block and that
    tells a third party the dashboard is in use. The sidebar's Material icons use Streamlit's
    bundled font and fetch nothing.
    """
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((2, 2, 61, 61), radius=14, fill=(190, 40, 60, 255))
    draw.rectangle((26, 12, 37, 51), fill=(255, 255, 255, 255))  # a white cross
    draw.rectangle((12, 26, 51, 37), fill=(255, 255, 255, 255))
    return image
