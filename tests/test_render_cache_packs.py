"""The render cache's packs (issue 16): a render appends only the entries it changed, a key's last line is its
entry, a torn or damaged pack is written whole again, and a pack never grows beyond twice what its render kept."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

from manifestkit.render_cache import Cache, Pack, keep, keep_later, open_pack, save_pack, take

KEYS = [f"{n:02x}" * 32 for n in range(10)]


def saved(cache: Cache, values: dict[str, object], *, read: bool = True) -> Pack:
    """A render that takes every entry it has (``read``) and keeps ``values`` in its pack."""
    pack = open_pack(cache, "apps", "project")
    for key in KEYS:
        if read and key not in values:
            take(pack, key)
    for key, value in values.items():
        if take(pack, key) != value:
            keep(pack, key, value)
    save_pack(cache, pack)
    return pack


def the_file(tmp_path: Path) -> Path:
    [path] = (tmp_path / "cache").rglob("*.json")
    return path


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[1:]     # after the header


def test_a_changed_entry_is_appended_and_read_as_the_last_line(tmp_path: Path) -> None:
    cache = Cache(root=tmp_path / "cache")
    saved(cache, {key: {"app": key[:2], "v": 1} for key in KEYS})
    before = the_file(tmp_path).read_bytes()
    saved(cache, {KEYS[3]: {"app": "03", "v": 2}})
    after = the_file(tmp_path).read_bytes()
    assert after.startswith(before) and after.count(b"\n") == before.count(b"\n") + 1, "one line appended"
    again = open_pack(cache, "apps", "project")
    assert take(again, KEYS[3]) == {"app": "03", "v": 2}, "the new entry, not the one before it"
    assert all(take(again, key) == {"app": key[:2], "v": 1} for key in KEYS if key != KEYS[3])


def test_a_torn_append_is_a_miss_and_the_pack_is_written_whole_again(tmp_path: Path) -> None:
    cache = Cache(root=tmp_path / "cache")
    saved(cache, {key: {"app": key[:2], "v": 1} for key in KEYS})
    saved(cache, {KEYS[3]: {"app": "03", "v": 2}})
    path = the_file(tmp_path)
    path.write_bytes(path.read_bytes()[:-5])       # the append cut short
    pack = open_pack(cache, "apps", "project")
    assert take(pack, KEYS[3]) is None
    keep(pack, KEYS[3], {"app": "03", "v": 3})
    for key in KEYS:
        if key != KEYS[3]:
            take(pack, key)
    save_pack(cache, pack)
    lines = lines_of(path)
    assert len(lines) == len(KEYS), "written whole: one line a key"
    assert all(hashlib.sha256(line.split(b" ", 2)[2]).hexdigest().encode() == line.split(b" ")[0] for line in lines)
    assert take(open_pack(cache, "apps", "project"), KEYS[3]) == {"app": "03", "v": 3}


def test_a_damaged_entry_makes_the_write_whole(tmp_path: Path) -> None:
    cache = Cache(root=tmp_path / "cache")
    saved(cache, {key: {"app": key[:2], "v": 1} for key in KEYS})
    path = the_file(tmp_path)
    path.write_bytes(path.read_bytes().replace(b'"v":1}', b'"v":7}', 1))   # an entry edited behind the cache
    saved(cache, {key: {"app": key[:2], "v": 1} for key in KEYS})
    assert len(lines_of(path)) == len(KEYS), "written whole, the edited line gone"
    assert all(take(open_pack(cache, "apps", "project"), key) == {"app": key[:2], "v": 1} for key in KEYS)


def test_a_pack_stays_within_twice_what_its_render_kept(tmp_path: Path) -> None:
    cache = Cache(root=tmp_path / "cache")
    saved(cache, {key: {"app": key[:2], "v": 0} for key in KEYS})
    whole = the_file(tmp_path).stat().st_size
    sizes = []
    for n in range(1, 30):
        saved(cache, {KEYS[n % 3]: {"app": "x", "v": n}})
        sizes.append(the_file(tmp_path).stat().st_size)
    assert max(sizes) <= 2 * whole + 100
    assert min(sizes[5:]) < max(sizes), "written whole again now and then"
    pack = open_pack(cache, "apps", "project")
    assert take(pack, KEYS[29 % 3]) == {"app": "x", "v": 29}


def test_entries_a_render_did_not_use_are_gone_once_the_pack_is_written_whole(tmp_path: Path) -> None:
    cache = Cache(root=tmp_path / "cache")
    saved(cache, {key: {"app": key[:2], "v": 1} for key in KEYS})
    saved(cache, {KEYS[0]: {"app": "00", "v": 1}}, read=False)    # it used one entry: 9 lines are not needed
    assert len(lines_of(the_file(tmp_path))) == 1
    assert take(open_pack(cache, "apps", "project"), KEYS[1]) is None


def test_an_entry_taken_twice_is_given_twice(tmp_path: Path) -> None:
    """A shard's second attempt takes its apps again: the lines let go after the first are read from the file."""
    cache = Cache(root=tmp_path / "cache")
    saved(cache, {key: {"app": key[:2], "v": 1} for key in KEYS})
    pack = open_pack(cache, "apps", "project")
    assert take(pack, KEYS[0]) == {"app": "00", "v": 1}
    assert KEYS[0] not in pack.found, "its line let go once decoded"
    assert take(pack, KEYS[0]) == {"app": "00", "v": 1}
    assert take(pack, KEYS[1]) == {"app": "01", "v": 1}


def test_entries_kept_later_are_made_as_the_pack_is_written(tmp_path: Path) -> None:
    cache = Cache(root=tmp_path / "cache")
    made: list[int] = []

    def bodies(n: int) -> Callable[[], Iterator[object]]:
        def make() -> Iterator[object]:
            made.append(n)
            for key in KEYS:
                yield {"app": key[:2], "v": n}
        return make

    pack = open_pack(cache, "apps", "project")
    keep_later(pack, KEYS, bodies(1))
    assert made == [], "nothing made before the write"
    save_pack(cache, pack)
    assert made == [1] and len(lines_of(the_file(tmp_path))) == len(KEYS), "a cold pack: written whole, once"
    assert not pack.kept and not pack.later, "let go once written"
    for n in (2, 3):    # every entry made again: appended once (twice the pack), then written whole
        pack = open_pack(cache, "apps", "project")
        for key in KEYS:
            take(pack, key)
        keep_later(pack, KEYS, bodies(n))
        save_pack(cache, pack)
    assert made == [1, 2, 3, 3], "the third made its bodies again to write the pack whole"
    assert len(lines_of(the_file(tmp_path))) == len(KEYS)
    again = open_pack(cache, "apps", "project")
    assert all(take(again, key) == {"app": key[:2], "v": 3} for key in KEYS)
    pack = open_pack(cache, "apps", "project")
    for key in KEYS:
        take(pack, key)
    keep_later(pack, KEYS[:1], lambda: iter([{"app": "00", "v": 4}]))
    save_pack(cache, pack)
    assert len(lines_of(the_file(tmp_path))) == len(KEYS) + 1, "one entry: appended"
    again = open_pack(cache, "apps", "project")
    assert [take(again, key) for key in KEYS[:2]] == [{"app": "00", "v": 4}, {"app": "01", "v": 3}]
