"""The xlvalue ribbon tab, generated from the registry of analyses: a Run group (Run all, Check
inputs), an Analyses group with one button per analysis that declares one, and an Outputs
group (Clear outputs, New template). Every button calls the add-in's one VBA callback, which
hands its id to `xlvalue.excel.macros.ribbon`; `run_buttons` maps those ids back to analyses.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from xlvalue.analyses import registry

__all__ = ["CUSTOMUI_NS", "OTHER_BUTTONS", "RibbonButton", "analysis_button_id", "custom_ui_xml",
           "run_buttons"]

CUSTOMUI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
ON_ACTION = "XlvalueRibbon.OnAction"


@dataclass(frozen=True)
class RibbonButton:
    id: str
    label: str
    image: str
    tip: str


RUN_ALL = RibbonButton("xvRunAll", "Run all", "MacroPlay",
                       "Run every analysis the workbook has inputs for")
CHECK = RibbonButton("xvCheck", "Check inputs", "AcceptInvitation",
                     "Validate the input ranges without writing")
CLEAR = RibbonButton("xvClear", "Clear outputs", "Delete", "Empty the xlvalue output sheets")
NEW_TEMPLATE = RibbonButton("xvNewTemplate", "New template", "FileNew",
                            "Open a new xlvalue template workbook")
OTHER_BUTTONS = (CHECK.id, CLEAR.id, NEW_TEMPLATE.id)


def analysis_button_id(name: str) -> str:
    return f"xvRun_{name}"


def _analysis_buttons() -> list[tuple[RibbonButton, str]]:
    """(button, the analyses it runs as --only text) of each analysis that has a button."""
    out = []
    for a in registry.all_analyses():
        if a.button is not None:
            only = ",".join((a.name, *a.also_runs))
            out.append((RibbonButton(analysis_button_id(a.name), a.button.label, a.button.image,
                                     a.button.tip), only))
    return out


def run_buttons() -> dict[str, str | None]:
    """Ribbon control id -> the analyses it runs (None: everything with inputs)."""
    return {RUN_ALL.id: None, **{b.id: only for b, only in _analysis_buttons()}}


def _button(b: RibbonButton) -> str:
    return (f'<button id={quoteattr(b.id)} label={quoteattr(b.label)} size="large" '
            f'imageMso={quoteattr(b.image)} onAction="{ON_ACTION}" screentip={quoteattr(b.tip)}/>')


def custom_ui_xml() -> bytes:
    """customUI/customUI.xml of the add-in: the xlvalue tab with today's registry's buttons."""
    groups = (("xvGroupRun", "Run", [RUN_ALL, CHECK]),
              ("xvGroupAnalyses", "Analyses", [b for b, _ in _analysis_buttons()]),
              ("xvGroupOutputs", "Outputs", [CLEAR, NEW_TEMPLATE]))
    body = "".join(f'\n        <group id="{gid}" label="{label}">'
                   + "".join(f"\n          {_button(b)}" for b in buttons)
                   + "\n        </group>" for gid, label, buttons in groups)
    return (f'<customUI xmlns="{CUSTOMUI_NS}">\n  <ribbon>\n    <tabs>\n'
            f'      <tab id="xvTab" label="xlvalue">{body}\n      </tab>\n    </tabs>\n'
            f'  </ribbon>\n</customUI>\n').encode()
