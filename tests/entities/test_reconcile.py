"""Name keys in every script: distinct names keep distinct keys, spellings of one name share one."""

from __future__ import annotations

import pytest

from aios_kernel._entities._reconcile import client_keys, group, normalise_name


@pytest.mark.parametrize(("name", "key"), [
    ("Дом ООО", "dom"),
    ("ООО Ромашка", "romashka"),
    ("Сад", "sad"),
    ("北京咨询", "beijingzixun"),
    ("Økodesign", "okodesign"),
    ("Straße AG", "strasse"),
    ("Ωμέγα", "omega"),
    ("서울 컨설팅", "seoul keonseolting"),
], ids=["russian-suffix", "russian-prefix", "russian-short", "chinese", "danish-o-slash", "german-sharp-s", "greek", "korean"])
def test_names_in_every_script_fold_to_readable_keys(name: str, key: str) -> None:
    assert normalise_name(name) == key


def test_names_in_other_scripts_do_not_merge() -> None:
    names = ["Дом ООО", "Сад", "北京咨询", "東京コンサルティング", "Ωμέγα"]
    keys = [normalise_name(n) for n in names]
    assert all(keys) and len(set(keys)) == len(names)
    assert group([client_keys(n) for n in names]) == [[i] for i in range(len(names))]


@pytest.mark.parametrize(("a", "b"), [
    ("Hallberg & Sons Ltd", "Hallberg and Sons"),
    ("Müller GmbH", "Muller"),
    ("Café Ñandú S.L.", "Cafe Nandu"),
    ("Nordlys Design AS", "nordlys design"),
    ("Kivi Payments OÜ", "Kivi Payments"),
], ids=["and-ltd", "umlaut-gmbh", "accents-sl", "case-as", "estonian-ou"])
def test_latin_spellings_of_one_name_share_a_key(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b) != ""


@pytest.mark.parametrize(("name", "key"), [("GmbH", "gmbh"), ("★★★", "★★★"), ("Ltd.", "ltd")], ids=["only-suffix", "symbols", "dotted"])
def test_a_visible_name_never_has_an_empty_key(name: str, key: str) -> None:
    assert normalise_name(name) == key


def test_a_blank_name_links_nothing() -> None:
    assert normalise_name("  \t") == ""
    assert client_keys("  ", "a@client.example") == ["email:a@client.example", "domain:client.example"]
