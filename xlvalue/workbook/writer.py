"""Surgical headless writer: replaces only xlvalue's own sheets inside the workbook package.

openpyxl's load+save would drop cached formula values, images, the 2010 ribbon part and
rebuild charts. Instead we copy every part of the user's package unchanged and edit only:
our worksheet/drawing/chart parts (named `xlvalue_*`), workbook.xml (our <sheet> entries and
xv_out_* defined names), its relationships, [Content_Types].xml and styles.xml (a few
appended formats). The result goes to a temporary file beside the target that atomically
replaces it, so an interrupted run never leaves a half-written workbook.

Parts the writer does not edit are never inflated: their compressed bytes are copied as they
are (bounded memory whatever the package holds). A part of a replaced `xv_*` sheet is removed
only when nothing in the package still reaches it through a relationship (an image shared
with a user sheet, a pivot cache listed in workbook.xml, the theme, an input sheet stay).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import shutil
import struct
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

from lxml import etree

from xlvalue.errors import Problem, XlvalueError
from xlvalue.workbook.cells import FORMATS
from xlvalue.workbook.charts import chart_title, chart_xml, drawing_xml
from xlvalue.workbook.layout import SheetOutput, SheetPlan, plan_sheets
from xlvalue.workbook.ooxml import (
    NS_CT,
    NS_MAIN,
    NS_PKG_REL,
    NS_REL,
    REL_CHART,
    REL_DRAWING,
    REL_WORKSHEET,
    iter_part,
    open_package,
    parse_xml,
    quote_sheet,
    rels_path,
    resolve_target,
    to_bytes,
)
from xlvalue.workbook.palette import LINK, NOTE, argb
from xlvalue.workbook.sheetxml import PlacedBlock, StyleIds, sheet_xml_chunks

__all__ = ["CT_CHART", "CT_DRAWING", "CT_SHEET", "CT_STYLES", "REL_STYLES", "SheetOutput",
           "TMP_MARK", "WriteError", "atomic_write", "copy_with_parts",
           "interrupted_line", "remove_stale_temps", "write_outputs", "written_since"]

CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
REL_STYLES = NS_REL + "/styles"


class WriteError(XlvalueError):
    """The output could not be written (locked file, no space, ...)."""


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "sheet"


TMP_MARK = ".xlvalue-"
# Each file about to be moved over its target: (time, target, device, inode of the new file).
# What an interrupted command wrote is read from the disk against these, not from how far
# the code got: a signal handled right after the rename (before any line after it runs) still
# finds the target holding the new file.
_RENAMES: list[tuple[float, Path, int, int]] = []


def atomic_write(target: Path, write) -> None:
    """Call write(tmp_path) and atomically move the result onto target; clean up on failure.

    The temporary file is `.<name>.xlvalue-<pid>-<random>.tmp` beside the target: temporary
    files of earlier runs that were killed (their process is gone) are removed first. Every
    failure to write (full or read-only disk, file-size limit, permissions) is a WriteError
    naming the target, and leaves neither a temporary file nor a changed target.
    """
    target = Path(target)
    remove_stale_temps(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}{TMP_MARK}{os.getpid()}-",
                                   suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise _write_error(target, exc) from None
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(target))
        st = os.stat(tmp)
        _RENAMES.append((time.monotonic(), target, st.st_dev, st.st_ino))
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _write_error(target, exc) from None
        raise


def written_since(started: float) -> list[Path]:
    """The files atomic_write has put in place since `started` (time.monotonic()) that are
    on disk now, whole: each target is the very file that was renamed onto it."""
    done: list[Path] = []
    for when, target, dev, ino in _RENAMES:
        if when < started or target in done:
            continue
        try:
            st = os.lstat(target)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (dev, ino):
            done.append(target)
    return done


def interrupted_line(started: float) -> str:
    """What an interrupted command (Ctrl-C, SIGTERM) says: the files it wrote in full since
    `started`, as the disk holds them (a signal right after a rename must not claim that
    nothing was written), or that none was."""
    done = written_since(started)
    if not done:
        return "interrupted; no output was written"
    return (f"interrupted after writing {', '.join(str(p) for p in done)} (each complete); "
            "nothing else was written")


def _write_error(target: Path, exc: OSError) -> WriteError:
    return WriteError(str(Problem(f"cannot write the file ({exc.strerror or exc}); nothing was "
                                  "written, the previous file (if any) is unchanged",
                                  book=str(target))))


def remove_stale_temps(target: Path) -> list[Path]:
    """Delete `.<name>.xlvalue-<pid>-*.tmp` files beside target whose process is gone."""
    removed = []
    try:
        candidates = list(Path(target).parent.glob(f".{_glob_escape(Path(target).name)}"
                                                   f"{TMP_MARK}*.tmp"))
    except OSError:
        return removed
    for path in candidates:
        pid_text = path.name[len(Path(target).name) + 1 + len(TMP_MARK):].split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed


def _glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's live process
    return True


def _mode_for(target: Path) -> int:
    """Keep an existing file's permissions; new files get the usual 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class _LazyParts(dict):
    """Part name -> bytes, inflated only when a part is first looked at."""

    def __init__(self, pkg: _Package):
        super().__init__()
        self._pkg = pkg

    def __contains__(self, name: object) -> bool:
        return name in self._pkg.names

    def __getitem__(self, name: str) -> bytes:
        if not dict.__contains__(self, name):
            if name not in self._pkg.names:
                raise KeyError(name)
            dict.__setitem__(self, name, self._pkg.read(name))
        return dict.__getitem__(self, name)

    def get(self, name, default=None):
        return self[name] if name in self else default


class _Package:
    """A workbook package being edited: parts are read on demand, edited ones are held in
    memory, all others are copied compressed at save time (never inflated)."""

    def __init__(self, src: Path):
        self.src = Path(src)
        self.book = self.src.name
        with open_package(self.src) as zf:
            self.infos = {i.filename: i for i in zf.infolist()}
        self.order = list(self.infos)
        self.names = set(self.order)
        self.data = _LazyParts(self)
        self.edited: set[str] = set()
        self.streams: dict[str, Callable[[], Iterable[bytes]]] = {}
        self.huge: set[str] = set()
        self.big: set[str] = set()

    def read(self, part: str) -> bytes:
        with open_package(self.src) as zf:
            return b"".join(iter_part(zf, part, self.book))

    def head(self, part: str, size: int = 4096) -> bytes:
        """The first bytes of a part (b"" if it is missing), without inflating the rest."""
        if part not in self.names:
            return b""
        if part in self.edited or dict.__contains__(self.data, part):
            return self.data[part][:size]
        with open_package(self.src) as zf:
            return next(iter(iter_part(zf, part, self.book, chunk=size)), b"")[:size]

    def xml(self, part: str) -> etree._Element:
        return parse_xml(self.data[part], self.book, part)

    def put(self, part: str, data: bytes) -> None:
        if part not in self.names:
            self.order.append(part)
            self.names.add(part)
        dict.__setitem__(self.data, part, data)
        self.edited.add(part)

    def drop(self, part: str) -> None:
        dict.pop(self.data, part, None)
        self.streams.pop(part, None)
        self.edited.discard(part)
        if part in self.names:
            self.names.discard(part)
            self.order.remove(part)

    def stream(self, part: str, chunks: Callable[[], Iterable[bytes]], huge: bool = False,
               big: bool = False) -> None:
        """A part written from a chunk generator at save time (large sheets); `huge` parts
        (possibly over 2 GiB) get zip64 headers, which small parts do without; `big` parts
        are deflated at level 1: 3x faster than the default for ~25 % more bytes (measured on
        sheet XML), which is the better trade for sheets of millions of cells."""
        self.put(part, b"")
        self.streams[part] = chunks
        if huge:
            self.huge.add(part)
        if big:
            self.big.add(part)

    def save(self, path: Path) -> None:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, \
                open(self.src, "rb") as raw:
            for name in self.order:
                info = self.infos.get(name)
                if info is not None and name not in self.edited:
                    _copy_compressed(raw, info, zf, self.book)
                    continue
                if info is not None:
                    zi = zipfile.ZipInfo(name, date_time=info.date_time)
                    zi.compress_type = info.compress_type
                    zi.external_attr = info.external_attr
                else:
                    zi = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                    zi.compress_type = zipfile.ZIP_DEFLATED
                if name in self.streams:
                    if name in self.big:
                        _set_level(zi, 1)
                    with zf.open(zi, "w", force_zip64=name in self.huge) as fh:
                        for chunk in self.streams[name]():
                            fh.write(chunk)
                else:
                    zf.writestr(zi, dict.__getitem__(self.data, name))


def copy_with_parts(src: Path, target: Path,
                    edits: dict[str, Callable[[bytes], bytes]]) -> None:
    """Write target as a copy of the workbook package src in which each part named in `edits`
    is replaced by edit(its bytes); every other part is copied compressed, never inflated.
    Written atomically (atomic_write): `xlvalue eval -o` stores computed values this way."""
    pkg = _Package(src)
    for part, edit in edits.items():
        pkg.put(part, edit(pkg.data[part]))
    atomic_write(target, pkg.save)


def _copy_compressed(raw, info: zipfile.ZipInfo, out: zipfile.ZipFile, book: str) -> None:
    """Copy one member's compressed bytes into `out` without inflating them (its CRC and
    sizes come from the source directory). Uses ZipFile's internal writer state the way
    ZipFile.mkdir does; falls back to inflate-and-deflate in chunks if that is missing."""
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        from xlvalue.errors import InputError

        raise InputError(Problem(f"part {info.filename} is damaged (no local header)", book=book))
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    zi.compress_type = info.compress_type
    zi.external_attr = info.external_attr
    zi.create_system = info.create_system
    zi.CRC, zi.compress_size, zi.file_size = info.CRC, info.compress_size, info.file_size
    zi.flag_bits = info.flag_bits & 0x06  # deflate option bits; sizes go in the header
    if not all(hasattr(out, a) for a in ("_lock", "_writecheck", "start_dir", "filelist")):
        with zipfile.ZipFile(raw) as src, src.open(info) as fin, out.open(zi, "w") as fout:
            shutil.copyfileobj(fin, fout, 1024**2)
        return
    with out._lock:
        if out._seekable:
            out.fp.seek(out.start_dir)
        zi.header_offset = out.fp.tell()
        out._writecheck(zi)
        out._didModify = True
        out.fp.write(zi.FileHeader(None))
        raw.seek(info.header_offset + 30 + name_len + extra_len)
        left = info.compress_size
        while left:
            chunk = raw.read(min(left, 1024**2))
            if not chunk:
                from xlvalue.errors import InputError

                raise InputError(Problem(f"part {info.filename} is truncated", book=book))
            out.fp.write(chunk)
            left -= len(chunk)
        out.filelist.append(zi)
        out.NameToInfo[zi.filename] = zi
        out.start_dir = out.fp.tell()


def _set_level(zi: zipfile.ZipInfo, level: int) -> None:
    """The deflate level of one zip entry: `compress_level` from Python 3.13, before it the
    private `_compresslevel` that ZipFile.open reads; left at the default if neither exists."""
    for attr in ("compress_level", "_compresslevel"):
        try:
            setattr(zi, attr, level)
            return
        except AttributeError:
            continue


def _rels_root(pkg: _Package, part: str) -> etree._Element:
    path = rels_path(part)
    if path in pkg.data:
        return pkg.xml(path)
    return etree.Element(f"{{{NS_PKG_REL}}}Relationships", nsmap={None: NS_PKG_REL})


def _targets(pkg: _Package, part: str) -> list[str]:
    path = rels_path(part)
    if path not in pkg.data:
        return []
    root = pkg.xml(path)
    return [resolve_target(part, r.get("Target", "")) for r in root
            if r.get("TargetMode") != "External"]


def _tree(pkg: _Package, part: str) -> set[str]:
    """A part and every part reachable from it through relationships."""
    seen: set[str] = set()
    stack = [part]
    while stack:
        p = stack.pop()
        if p in seen or p not in pkg.data:
            continue
        seen.add(p)
        stack.extend(_targets(pkg, p))
    return seen


def _reachable(pkg: _Package) -> set[str]:
    """Every part the package still refers to: from the package root (and workbook.xml, in
    case the root relationships are missing) through every relationship of a reached part.
    Workbook-level lists (pivot caches, external references, the theme, VBA) are
    relationships of workbook.xml, so they are covered."""
    seen: set[str] = set()
    stack = _targets(pkg, "") + ["xl/workbook.xml"]
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        stack.extend(t for t in _targets(pkg, p) if t not in seen)
    return seen


def _sweep(pkg: _Package, candidates: set[str]) -> None:
    """Remove the candidates (parts of replaced sheets) that nothing refers to any more."""
    if not candidates:
        return
    reach = _reachable(pkg)
    gone = sorted(p for p in candidates if p not in reach and p in pkg.data)
    for p in gone:
        pkg.drop(p)
        pkg.drop(rels_path(p))
    _drop_overrides(pkg, gone)


_STYLE_ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles",
                "dxfs", "tableStyles", "colors", "extLst")
_STYLE_DEFAULTS = {
    "fonts": '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>',
    "fills": '<fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
             '<patternFill patternType="gray125"/></fill></fills>',
    "borders": '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
               '</borders>',
    "cellStyleXfs": '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
                    'borderId="0"/></cellStyleXfs>',
    "cellXfs": '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
               'xfId="0"/></cellXfs>'}


def _style_list(root: etree._Element, tag: str) -> etree._Element:
    """The styles.xml list `tag`, created in schema order (with its default first entry)
    when the user's styles lack it or hold it empty."""
    m = f"{{{NS_MAIN}}}"
    el = root.find(m + tag)
    if el is not None and len(el):
        return el
    if el is not None:
        root.remove(el)
    el = etree.fromstring(f'<x xmlns="{NS_MAIN}">{_STYLE_DEFAULTS[tag]}</x>')[0]
    later = _STYLE_ORDER[_STYLE_ORDER.index(tag) + 1:]
    for child in root:
        if isinstance(child.tag, str) and child.tag.startswith(m) and \
                child.tag[len(m):] in later:
            child.addprevious(el)
            return el
    root.append(el)
    return el


def _ensure_styles(pkg: _Package, wb_rels: etree._Element) -> StyleIds:
    """Find or append the few cell formats we use (bold header, date, number, percent)."""
    styles_part = None
    for rel in wb_rels:
        if rel.get("Type") == REL_STYLES:
            styles_part = resolve_target("xl/workbook.xml", rel.get("Target", ""))
    if styles_part is None or styles_part not in pkg.data:
        styles_part = "xl/styles.xml"
        pkg.put(styles_part, (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<styleSheet xmlns="{NS_MAIN}"><fonts count="1"><font><sz val="11"/>'
            '<name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill '
            'patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            '</borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
            'borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" '
            'fillId="0" borderId="0" xfId="0"/></cellXfs></styleSheet>').encode())
        rel = etree.SubElement(wb_rels, f"{{{NS_PKG_REL}}}Relationship")
        rel.set("Id", "rIdXlvStyles")
        rel.set("Type", REL_STYLES)
        rel.set("Target", "styles.xml")
        _content_override(pkg, "/" + styles_part, CT_STYLES)
    root = pkg.xml(styles_part)
    m = f"{{{NS_MAIN}}}"
    for tag in ("fonts", "fills", "borders", "cellStyleXfs"):
        _style_list(root, tag)
    fonts = root.find(f"{m}fonts")
    base = fonts[0] if len(fonts) else None

    def font(*children: tuple[str, dict[str, str]]) -> int:
        """Index of the base font with these child elements (b, i, u, color), appended once."""
        el = copy.deepcopy(base) if base is not None else etree.Element(f"{m}font")
        for tag, attrs in reversed(children):
            for old in el.findall(f"{m}{tag}"):
                el.remove(old)
            child = etree.Element(f"{m}{tag}")
            for k, v in attrs.items():
                child.set(k, v)
            if tag == "color":  # CT_Font's sequence: b i strike ... u vertAlign sz color name
                sz, name = el.find(f"{m}sz"), el.find(f"{m}name")
                if sz is not None:
                    sz.addnext(child)
                elif name is not None:
                    name.addprevious(child)
                else:
                    el.append(child)
            else:
                el.insert(0, child)
        want = etree.tostring(el)
        found = next((i for i, f in enumerate(fonts) if etree.tostring(f) == want), None)
        if found is None:
            fonts.append(el)
            found = len(fonts) - 1
            fonts.set("count", str(len(fonts)))
        return found

    font_id = font(("b", {}))
    link_font = font(("u", {}), ("color", {"rgb": argb(LINK)}))
    note_font = font(("i", {}), ("color", {"rgb": argb(NOTE)}))
    xfs = _style_list(root, "cellXfs")

    def xf(num_fmt: int, font: int, **align: str) -> int:
        """Index of the cell format (number format, font, alignment), appended once."""
        want = {"numFmtId": str(num_fmt), "fontId": str(font), "fillId": "0", "borderId": "0",
                "xfId": "0"}
        if num_fmt:
            want["applyNumberFormat"] = "1"
        if font:
            want["applyFont"] = "1"
        if align:
            want["applyAlignment"] = "1"
        for i, el in enumerate(xfs):
            child = el.find(f"{m}alignment")
            if dict(el.attrib) == want and len(el) == (1 if align else 0) and (
                    not align or dict(child.attrib) == align):
                return i
        el = etree.SubElement(xfs, f"{m}xf")
        for k, v in want.items():
            el.set(k, v)
        if align:
            child = etree.SubElement(el, f"{m}alignment")
            for k, v in align.items():
                child.set(k, v)
        xfs.set("count", str(len(xfs)))
        return len(xfs) - 1

    fmt = {kind: _num_fmt_id(root, kind) for kind in FORMATS}
    indent = {"horizontal": "left", "indent": "1"}
    wrap = {"wrapText": "1"}
    ids = StyleIds(title=xf(0, font_id), header=xf(0, font_id), date=xf(fmt["date"], 0),
                   number=xf(fmt["number"], 0), integer=xf(fmt["integer"], 0),
                   percent=xf(fmt["percent"], 0), header_right=xf(0, font_id, horizontal="right"),
                   link=xf(0, link_font), note=xf(0, note_font),
                   header_indent=xf(0, font_id, **indent), text_indent=xf(0, 0, **indent),
                   link_indent=xf(0, link_font, **indent), text_wrap=xf(0, 0, **wrap),
                   text_wrap_indent=xf(0, 0, **indent, **wrap))
    # appended last: the cell styles of earlier versions keep their indices
    ids = dataclasses.replace(ids, share=xf(fmt["share"], 0), pct=xf(fmt["pct"], 0))
    pkg.put(styles_part, to_bytes(root))
    return ids


FIRST_CUSTOM_FORMAT = 164  # numFmtIds below are Excel's built-in formats


def _num_fmt_id(root: etree._Element, kind: str) -> int:
    """The numFmtId of a kind's number format (cells.FORMATS): its built-in id, or the id of
    the same custom format code in the workbook's <numFmts> (appended once, with an id above
    every id the workbook uses)."""
    spec = FORMATS[kind]
    if spec.builtin_id is not None:
        return spec.builtin_id
    m = f"{{{NS_MAIN}}}"
    fmts = root.find(f"{m}numFmts")
    if fmts is None:
        fmts = etree.Element(f"{m}numFmts")
        root.insert(0, fmts)  # the first element of a styleSheet
    ids = []
    for el in fmts.findall(f"{m}numFmt"):
        fid = (el.get("numFmtId") or "").strip()
        if not fid.isdigit():
            continue
        if el.get("formatCode") == spec.code:
            return int(fid)
        ids.append(int(fid))
    new_id = max([FIRST_CUSTOM_FORMAT - 1, *ids]) + 1
    el = etree.SubElement(fmts, f"{m}numFmt")
    el.set("numFmtId", str(new_id))
    el.set("formatCode", spec.code)
    fmts.set("count", str(len(fmts)))
    return new_id


def _content_override(pkg: _Package, part_name: str, content_type: str) -> None:
    root = pkg.xml("[Content_Types].xml")
    for el in root.findall(f"{{{NS_CT}}}Override"):
        if el.get("PartName") == part_name:
            root.remove(el)
    el = etree.SubElement(root, f"{{{NS_CT}}}Override")
    el.set("PartName", part_name)
    el.set("ContentType", content_type)
    pkg.put("[Content_Types].xml", to_bytes(root))


def _drop_overrides(pkg: _Package, parts: list[str]) -> None:
    if not parts:
        return
    root = pkg.xml("[Content_Types].xml")
    names = {"/" + p for p in parts}
    for el in root.findall(f"{{{NS_CT}}}Override"):
        if el.get("PartName") in names:
            root.remove(el)
    pkg.put("[Content_Types].xml", to_bytes(root))


def write_outputs(src: Path, dst: Path, sheets: Sequence[SheetPlan | SheetOutput]) -> None:
    """Write xlvalue's sheets into a copy of src at dst (dst may equal src: in-place).

    `sheets` are the sheet plans of the run (layout.plan_sheet: laid out once, the places the
    contents links point at); a SheetOutput is laid out here."""
    pkg = _Package(Path(src))
    _apply(pkg, plan_sheets(sheets))
    try:
        atomic_write(Path(dst), pkg.save)
    except OSError as exc:
        raise WriteError(str(Problem(f"cannot write the output ({exc.strerror or exc})",
                                     book=str(dst)))) from None


def _apply(pkg: _Package, sheets: list[SheetPlan]) -> None:
    wb = pkg.xml("xl/workbook.xml")
    wb_rels = _rels_root(pkg, "xl/workbook.xml")
    m = f"{{{NS_MAIN}}}"
    rid_attr = f"{{{NS_REL}}}id"
    sheets_el = wb.find(f"{m}sheets")
    rel_by_id = {r.get("Id"): r for r in wb_rels}
    styles = _ensure_styles(pkg, wb_rels)
    max_sheet_id = max((int(s.get("sheetId", "0")) for s in sheets_el
                        if s.get("sheetId", "0").strip().isdigit()), default=0)
    replaced_ids: set[str] = set()
    candidates: set[str] = set()
    for out in sheets:
        slug = _slug(out.name)
        sheet_part = f"xl/worksheets/xlvalue_{slug}.xml"
        existing = next((s for s in sheets_el if s.get("name", "").lower() == out.name.lower()), None)
        code_name = None
        if existing is not None:
            rel = rel_by_id.get(existing.get(rid_attr))
            if rel is not None:
                old = resolve_target("xl/workbook.xml", rel.get("Target", ""))
                code_name = _code_name(pkg.head(old))
                candidates |= _tree(pkg, old)
                rel.set("Target", f"worksheets/xlvalue_{slug}.xml")
                rel.set("Type", REL_WORKSHEET)
                replaced_ids.add(existing.get("sheetId", ""))
            else:
                rel = etree.SubElement(wb_rels, f"{{{NS_PKG_REL}}}Relationship")
                rel.set("Id", f"rIdXlv{slug}")
                rel.set("Type", REL_WORKSHEET)
                rel.set("Target", f"worksheets/xlvalue_{slug}.xml")
                existing.set(rid_attr, rel.get("Id"))
        else:
            max_sheet_id += 1
            rel = etree.SubElement(wb_rels, f"{{{NS_PKG_REL}}}Relationship")
            rid = f"rIdXlv{slug}"
            while rid in rel_by_id:
                rid += "x"
            rel.set("Id", rid)
            rel.set("Type", REL_WORKSHEET)
            rel.set("Target", f"worksheets/xlvalue_{slug}.xml")
            rel_by_id[rid] = rel
            el = etree.SubElement(sheets_el, f"{m}sheet")
            el.set("name", out.name)
            el.set("sheetId", str(max_sheet_id))
            el.set(rid_attr, rid)
        placed = out.placed
        drawing_rid = _write_charts(pkg, slug, out.name, placed)
        cells = sum(len(pb.block.frame) * max(len(pb.block.frame.columns), 1) for pb in placed)
        pkg.stream(sheet_part, lambda placed=placed, rid=drawing_rid, code=code_name,
                   active=out.active:
                   _with_code_name(sheet_xml_chunks(placed, styles, rid, selected=active), code),
                   huge=cells > 20_000_000, big=cells > 1_000_000)
        _content_override(pkg, "/" + sheet_part, CT_SHEET)
        _set_names(wb, out.name, placed)
    if replaced_ids:
        _prune_calc_chain(pkg, wb_rels, replaced_ids)
    active = next((out.name for out in sheets if out.active), None)
    if active is not None:
        _open_on(pkg, wb, wb_rels, active)
    pkg.put(rels_path("xl/workbook.xml"), to_bytes(wb_rels))
    _sweep(pkg, candidates - {f"xl/worksheets/xlvalue_{_slug(o.name)}.xml" for o in sheets})
    calc = wb.find(f"{m}calcPr")
    if calc is None:
        calc = etree.Element(f"{m}calcPr")
        _insert_after(wb, calc, ("definedNames", "externalReferences", "functionGroups", "sheets"))
    calc.set("fullCalcOnLoad", "1")
    pkg.put("xl/workbook.xml", to_bytes(wb))
    pkg.put(rels_path("xl/workbook.xml"), to_bytes(wb_rels))


def _code_name(sheet_part: bytes) -> str | None:
    """A worksheet's codeName (<sheetPr codeName=...>, at the top of the part)."""
    found = re.search(rb'<(?:\w+:)?sheetPr\b[^>]*?\bcodeName="([^"]*)"', sheet_part[:4096])
    return found.group(1).decode("utf-8") if found else None


def _with_code_name(chunks: Iterable[bytes], code_name: str | None) -> Iterator[bytes]:
    """A replaced sheet keeps its codeName: an .xlsm's VBA document module (Sheet1, ...) is
    bound to the sheet by it, and Excel orphans the module of a sheet that lost it."""
    pending = code_name is not None
    for chunk in chunks:
        if pending and b"<sheetPr" in chunk:
            attr = quoteattr(code_name).encode("utf-8")
            chunk = chunk.replace(b"<sheetPr", b"<sheetPr codeName=" + attr, 1)
            pending = False
        yield chunk
def _open_on(pkg: _Package, wb: etree._Element, wb_rels: etree._Element, sheet: str) -> None:
    """Make `sheet` the tab the workbook opens on: the workbook view's activeTab points at it
    and no other sheet stays selected (two selected tabs would be edited as a group)."""
    m = f"{{{NS_MAIN}}}"
    sheets = list(wb.find(f"{m}sheets"))
    index = next(i for i, s in enumerate(sheets) if s.get("name") == sheet)
    views = wb.find(f"{m}bookViews")
    if views is None:
        views = etree.Element(f"{m}bookViews")
        _insert_after(wb, views, ("workbookProtection", "workbookPr", "fileSharing", "fileVersion"))
    view = views.find(f"{m}workbookView")
    if view is None:
        view = etree.SubElement(views, f"{m}workbookView")
    view.set("activeTab", str(index))
    first = view.get("firstSheet", "0").strip()
    if not first.isdigit() or int(first) > index:
        view.set("firstSheet", str(index))
    target = {r.get("Id"): resolve_target("xl/workbook.xml", r.get("Target", "")) for r in wb_rels}
    for s in sheets:
        part = target.get(s.get(f"{{{NS_REL}}}id"))
        if s.get("name") == sheet or part is None or part not in pkg.data or part in pkg.streams:
            continue
        top = pkg.head(part, 1 << 16)
        end = top.find(b"</sheetViews>")  # only the views, never the (large) sheet data
        head = top[:end] if end > 0 else b""
        if b"tabSelected" in head:
            new_head = re.sub(rb'\s+tabSelected="(1|true)"', b"", head)
            if part in pkg.edited:
                data = pkg.data[part]
                pkg.put(part, new_head + data[end:])
            else:  # the rest is streamed from the source at save time, never held whole
                pkg.stream(part, lambda part=part, new_head=new_head, end=end:
                           _after_head(pkg, part, new_head, end))


def _after_head(pkg: _Package, part: str, new_head: bytes, end: int) -> Iterator[bytes]:
    """A source part with its first `end` bytes replaced by `new_head`, chunk by chunk."""
    yield new_head
    skip = end
    with open_package(pkg.src) as zf:
        for chunk in iter_part(zf, part, pkg.book):
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            yield chunk[skip:]
            skip = 0


def _insert_after(parent: etree._Element, el: etree._Element, after: tuple[str, ...]) -> None:
    m = f"{{{NS_MAIN}}}"
    for tag in after:
        found = parent.find(m + tag)
        if found is not None:
            found.addnext(el)
            return
    parent.append(el)


def _set_names(wb: etree._Element, sheet: str, placed: list[PlacedBlock]) -> None:
    m = f"{{{NS_MAIN}}}"
    names = wb.find(f"{m}definedNames")
    if names is None:
        names = etree.Element(f"{m}definedNames")
        _insert_after(wb, names, ("externalReferences", "functionGroups", "sheets"))
    ours = {pb.block.name.lower() for pb in placed}
    for el in list(names):
        if (el.get("name") or "").lower() in ours:
            names.remove(el)
    for pb in placed:
        el = etree.SubElement(names, f"{m}definedName")
        el.set("name", pb.block.name)
        el.text = f"{quote_sheet(sheet)}!{pb.area()}"


def _write_charts(pkg: _Package, slug: str, sheet: str, placed: list[PlacedBlock]) -> str | None:
    anchors = []
    chart_no = 0
    drawing_rels = etree.Element(f"{{{NS_PKG_REL}}}Relationships", nsmap={None: NS_PKG_REL})
    for pb in placed:
        for i, (spec, (row, c0)) in enumerate(zip(pb.block.charts, pb.chart_cells, strict=True)):
            if len(pb.block.frame) == 0:
                continue
            chart_no += 1
            part = f"xl/charts/xlvalue_{slug}_{chart_no}.xml"
            pkg.put(part, chart_xml(spec, sheet, pb.header_row, pb.first_col,
                                    [str(c) for c in pb.block.frame.columns], len(pb.block.frame),
                                    pb.series_columns(i), chart_title(spec, pb.block.frame)))
            _content_override(pkg, "/" + part, CT_CHART)
            rid = f"rId{chart_no}"
            rel = etree.SubElement(drawing_rels, f"{{{NS_PKG_REL}}}Relationship")
            rel.set("Id", rid)
            rel.set("Type", REL_CHART)
            rel.set("Target", f"../charts/xlvalue_{slug}_{chart_no}.xml")
            anchors.append((c0, row, c0 + spec.width_cols, row + spec.height_rows, rid))
    sheet_part = f"xl/worksheets/xlvalue_{slug}.xml"
    if not anchors:
        pkg.drop(rels_path(sheet_part))
        return None
    drawing = f"xl/drawings/xlvalue_{slug}.xml"
    pkg.put(drawing, drawing_xml(anchors))
    pkg.put(rels_path(drawing), to_bytes(drawing_rels))
    _content_override(pkg, "/" + drawing, CT_DRAWING)
    sheet_rels = etree.Element(f"{{{NS_PKG_REL}}}Relationships", nsmap={None: NS_PKG_REL})
    rel = etree.SubElement(sheet_rels, f"{{{NS_PKG_REL}}}Relationship")
    rel.set("Id", "rId1")
    rel.set("Type", REL_DRAWING)
    rel.set("Target", f"../drawings/xlvalue_{slug}.xml")
    pkg.put(rels_path(sheet_part), to_bytes(sheet_rels))
    return "rId1"


def _prune_calc_chain(pkg: _Package, wb_rels: etree._Element, sheet_ids: set[str]) -> None:
    """Drop calcChain entries of replaced sheets (Excel repairs a chain pointing at lost cells)."""
    part = "xl/calcChain.xml"
    if part not in pkg.data:
        return
    root = pkg.xml(part)
    current = None
    changed = False
    for c in list(root):
        current = c.get("i", current)
        if current in sheet_ids:
            root.remove(c)
            changed = True
    if not changed:
        return
    if len(root):
        pkg.put(part, to_bytes(root))
        return
    pkg.drop(part)  # an empty chain is invalid: remove the part, its relationship and type
    _drop_overrides(pkg, [part])
    for rel in list(wb_rels):
        if resolve_target("xl/workbook.xml", rel.get("Target", "")) == part:
            wb_rels.remove(rel)
