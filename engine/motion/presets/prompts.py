"""Free-text motion prompts -> a preset and its parameters, offline, by vocabulary.

The single reading of a prompt: the preset engine uses it when no preset is chosen and the
offline planner (engine.planning.heuristic) uses it to pick the preset it sizes a box for,
so the box always fits the motion the engine will draw.

Designers type how a layer should move ("the seal bobs its head", "title waves gently",
"leaves sway slowly in the wind"). Verbs and nouns pick the preset by weighted keyword
scores; adverbs and phrases tune its parameters (gently -> small amplitude, wildly ->
large, slowly/quickly -> fewer/more cycles, "3 times" -> cycles, "from the left" -> the
slide direction). Nothing here needs a network or a model, so the preset engine works the
same on every machine; the LLM planner may do better, but never has to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine.motion.presets.catalog import PRESETS
from engine.core.poster import LayerKind

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "once": 1, "twice": 2, "thrice": 3}


@dataclass(frozen=True)
class PromptMatch:
    """The preset a prompt asks for, the parameters its wording implies, and a note for the
    designer when the prompt was not understood and a default was used."""

    preset: str
    params: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    cue: str = ""  # the words that decided the preset ("" when the default was used); the planner quotes them


#: (preset, weight, pattern). Verbs that name a motion weigh most; nouns that suggest one
#: (a plant sways, a balloon floats) weigh little, so an explicit verb always wins.
_VOCABULARY: tuple[tuple[str, float, str], ...] = (
    ("typewriter", 5, r"typewriter|type(s|d)? (itself |themselves )?(out|in|on)|typing|letter by letter|"
                      r"character by character|one letter at a time|writes? (itself|on)|spelled out|spells? out"),
    ("typewriter", 2, r"\btyped?\b|\btypes\b"),
    ("wave_rotate", 5, r"wave[ -]?like rotation|rotating wave|rocking wave|wave of rotation|rotat\w* like a wave"),
    ("text_wave", 4, r"stadium wave|mexican wave|ripple through|letters? (wave|ripple)|wave through|wavy text"),
    ("text_wave", 2, r"\bripples?\b|\brippling\b|\bundulat\w*"),
    ("flag_wave", 4, r"\bflags?\b|\bbanners?\b|\bcloth\b|\bfabric\b|\bcurtains?\b|\bcapes?\b|\bscarf\b|"
                     r"\bpennants?\b|\bsails?\b|\bbillow\w*|\bflutter\w* in the (wind|breeze)"),
    ("flag_wave", 2, r"\bflutter\w*"),
    ("bob", 4, r"\bbob(s|bing|bed)?\b|\bnod(s|ding|ded)?\b"),
    ("bob", 2, r"up and down|up-and-down|\bwalk(s|ing)?\b|\bmarch\w*|\btrot\w*"),
    ("float", 3, r"\bswim\w*|\bglid\w* through"),
    # Rising gently reads as a loopable hover; rising into view or away is travel (below).
    ("float", 2, r"\brises?\b|\brising\b|\bascend\w*"),
    ("float", 4, r"\bfloat\w*|\bdrift\w*|\bhover\w*|\blevitat\w*|flies around|flutters? around|\bbobs? on the water"),
    ("float", 1, r"\bballoons?\b|\bclouds?\b|\bbubbles?\b|\bfeathers?\b|\bghosts?\b|\bboats?\b|\bjellyfish\b"),
    ("sway", 4, r"\bsway\w*|\bswing(s|ing)?\b|\bswung\b|\bpendulum\b|\bdangl\w*|\brustl\w*|\bwag(s|ging|ged)?\b"),
    ("sway", 6, r"\bwav(e|es|ing) (hello|goodbye|bye|hi)\b|\bwav(e|es|ing) (its|his|her|their|a) (hand|paw|arm|wing)s?|"
                r"\b(hands?|paws?|arms?) (\w+ )?wav(e|es|ing)\b"),
    ("sway", 1, r"\bplants?\b|\btrees?\b|\bgrass\w*|\bflowers?\b|\bleaf\b|\bleaves\b|\bpalms?\b|\bbranch\w*|"
                r"\bbush\w*|\breeds?\b|\bwheat\b|\bferns?\b|\bbreeze\b|\bwind\b|\blamps?\b"),
    ("breathe", 4, r"\bbreath\w*|\bpuls\w*|\bthrob\w*|\bheart ?beat\w*|\bbeat(s|ing)?\b|grows? and shrinks?|"
                   r"\bswell\w*|\binflat\w*|\btwinkl\w*|\bglow\w*|\bshimmer\w*"),
    ("breathe", 1, r"\bhearts?\b|\bstars?\b|\bsparkl\w*"),
    ("bounce", 4, r"\bbounc\w*|\bjump\w*|\bhop(s|ping|ped)?\b|\bleap\w*|\bboing\b|\bsquash\w*"),
    ("bounce", 1, r"\bballs?\b|\bfrogs?\b|\bkangaroos?\b|\brabbits?\b|\bbunn(y|ies)\b"),
    ("shake", 4, r"\bshak\w*|\bshook\b|\bshiver\w*|\btrembl\w*|\bvibrat\w*|\bjitter\w*|\brattl\w*|\bquak\w*|"
                 r"\bbuzz\w*|\bshudder\w*|\bquiver\w*|\bnervous\w*|\bearthquake\b"),
    ("spin", 4, r"\bspin\w*|\bspun\b|\brotat\w*|\btwirl\w*|\bwhirl\w*|\brevolv\w*|\bpirouette\w*|turns? around|"
                r"\bcartwheel\w*|\b(counter|anti)?-?clockwise\b"),
    ("spin", 1, r"\bwheels?\b|\bgears?\b|\bfans?\b|\bpropellers?\b|\bpinwheels?\b|\bvinyl\b|\brecords?\b"),
    ("jelly", 4, r"\bjell(y|o)\b|\bwobbl\w*|\bwiggl\w*|\bjiggl\w*|\bsquish\w*|\bgelatin\w*|\bblobs?\b|\bgooey\b"),
    ("zoom", 3, r"\bpops?\b|\bpopping\b"),
    ("zoom", 4, r"\bzoom\w*|\bgrow(s|ing)?\b|\benlarg\w*|scales? up|comes? closer|\bshrink\w*|\brecede\w*|"
                r"\bpops? out\b|\bloom\w*"),
    ("fly_away", 6, r"fl(y|ies|ying|ew) (away|off|out)|takes? off|blasts? off|\blaunch\w*|soars? away|"
                    r"\bescap\w*|\bleave\b|\bleaving\b|\bleaves (the|its|his|her|for|through)\b|\bexit\w*|\bdepart\w*|"
                    r"\bflee\w*|\b(driv|run|ran|walk|mov|go|went|rid|sail|swim|float|zoom|speed|rac|drift)\w* (away|off)\b"),
    ("fly_away", 6, r"\band away\b|\bout of (the )?(frame|poster|picture|view|sight)\b|"
                    r"\b(roll|driv|run|ran|walk|mov|travel|rac|rid|sail|swim|head|crawl|drift|float|glid|fl(y|ie))\w*( \w+){0,2} "
                    r"(to(wards?)? (the )?(left|right)\b|(left|right)wards?\b)"),
    ("fly_away", 4, r"\bfalls?\b|\bfalling\b|\bfell\b|\bdrops?\b(?! in\b)|\bdropping\b|\bsink(s|ing)?\b|"
                    r"\brain(s|ing)? down\b|\bdescend\w*|\bplummet\w*"),
    ("fly_away", 2, r"\bfl(y|ies|ying|ew)\b|\brockets?\b|\bsoar\w*"),
    ("fly_away", 1, r"\bbirds?\b|\bplanes?\b"),
    ("slide_in", 5, r"slides? in|slid(es|ing)? (in|into)|\bin from\b|enters?\b|\bentering\b|swoops? in|"
                    r"sweeps? in|glides? in|\barriv\w*"),
    ("slide_in", 3, r"\bslid\w*|\bglid\w*|\b(rises?|rising|ascend\w*) (up )?(into (view|place|the picture)|"
                    r"from (the )?(bottom|below|horizon))|\bdrops? in\b"),
    ("fade", 4, r"\bfad(e|es|ed|ing)\b|\bdisappear\w*|\bdissolv\w*|\bvanish\w*|\bblink\w*|\bflicker\w*|"
                r"\bappear\w*|\breappear\w*|\bflash\w*"),
)

#: Words whose motion depends on what moves: (pattern, preset for type, preset for artwork).
#: "wave" is a text wave for a title but a cloth wave for a picture; dancing or rocking
#: letters rock in a wave while a dancing figure or a rocking boat sways.
_BY_KIND: tuple[tuple[re.Pattern, str, str], ...] = (
    (re.compile(r"\bwav(e|es|ed|ing|y)\b"), "text_wave", "flag_wave"),
    (re.compile(r"\bdanc\w*"), "wave_rotate", "sway"),
    (re.compile(r"\brock(s|ing|ed)?\b|\bseesaw\w*|\bteeter\w*|\btilt(s|ing)? back and forth|"
                r"side to side|side-to-side|back and forth|to and fro"), "wave_rotate", "sway"),
)
_TEXT_NOUNS = re.compile(r"\b(text|title|titles|headline|heading|letters?|words?|caption|slogan|tagline|type|name|logo)\b")

_AMPLITUDE_WORDS: tuple[tuple[float, str], ...] = (
    (1.0, r"very wild\w*|like crazy|\bviolent\w*|\bcrazy\b|\bcrazily\b|\bfrantic\w*|\bmadly\b|\bhuge\b|\bextreme\w*"),
    (0.15, r"very (gentl\w*|slight\w*|subtl\w*|soft\w*)|\bbarely\b|\bhardly\b|\btiny\b|\bfaint\w*"),
    (0.9, r"\bwild\w*|\bvigorous\w*|\bstrong\w*|\bdramatic\w*|\benergetic\w*|\bintense\w*|\bpowerful\w*|"
          r"\bhard\b|\ba lot\b|\bbig\b|\blarge\b|\bhigh\b|\bwide\w*"),
    (0.25, r"\bgentl\w*|\bsoft\w*|\bsubtl\w*|\bslight\w*|\blight\w*|\bcalm\w*|\ba (little|bit)\b|\bsmall\b|"
           r"\blittle\b|\bmild\w*|\btender\w*|\blow\b"),
)
_SPEED_WORDS: tuple[tuple[float, str], ...] = (
    (3.0, r"very (quick|fast|rapid)\w*|\bfrenetic\w*|\bhectic\w*"),
    (0.34, r"very slow\w*"),
    (2.0, r"\bquick\w*|\bfast\w*|\brapid\w*|\bbrisk\w*|\bspeed\w*|\bhurr\w*|\blively\b|\bbusy\b"),
    (0.5, r"\bslow\w*|\blaz(y|ily)\b|\bleisurel\w*|\bsluggish\w*|\bdream\w*"),
)
_EASING_WORDS: tuple[tuple[str, str], ...] = (
    ("ease_in_out", r"eas(e|es|ing) in and out|ease[-_ ]in[-_ ]out"),
    ("ease_in", r"\baccelerat\w*|speeds? up|picks? up speed"),
    ("ease_out", r"\bdecelerat\w*|slows? down|\bsettl\w*|comes? to rest"),
    ("linear", r"\bsteady\b|\bsteadily\b|\bmechanical\w*|\blinear\w*|constant speed|\brobotic\w*"),
    ("sine", r"\bsmooth\w*"),
)
_DIRECTION_WORDS = {"left": "left", "right": "right", "top": "up", "bottom": "down", "above": "up", "below": "down",
                    "up": "up", "down": "down", "sky": "up", "ground": "down"}
_OPPOSITE = {"up": "down", "down": "up", "left": "right", "right": "left"}


def default_preset(kind: LayerKind | None) -> str:
    """The motion used when nothing says otherwise: text bobs, everything else floats."""
    return "bob" if kind == LayerKind.TEXT else "float"


def _clean(prompt: str) -> str:
    text = prompt.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9' -]+", " ", text)
    return " " + re.sub(r"\s+", " ", text).strip() + " "


def _scores(text: str, kind: LayerKind | None) -> tuple[dict[str, float], dict[str, str]]:
    """Each preset's keyword score, and the words that weighed most for it (its cue)."""
    scores: dict[str, float] = {}
    cues: dict[str, tuple[float, str]] = {}

    def add(preset: str, weight: float, words: str) -> None:
        scores[preset] = scores.get(preset, 0.0) + weight
        if weight > cues.get(preset, (0.0, ""))[0]:
            cues[preset] = (weight, words.strip())

    for preset, weight, pattern in _VOCABULARY:
        if m := re.search(pattern, text):
            add(preset, weight, m.group(0))
    texty = kind == LayerKind.TEXT or bool(_TEXT_NOUNS.search(text))
    for pattern, for_text, for_art in _BY_KIND:
        if m := pattern.search(text):
            add(for_text if texty else for_art, 3.5, m.group(0))
    return scores, {preset: words for preset, (_, words) in cues.items()}


def _best(scores: dict[str, float], kind: LayerKind | None) -> str | None:
    if not scores:
        return None
    order = list(PRESETS)

    def rank(name: str) -> tuple[float, bool, int]:
        return scores[name], kind == LayerKind.TEXT and PRESETS[name].for_text, -order.index(name)

    return max(scores, key=rank)


def _first(table, text: str):
    for value, pattern in table:
        if re.search(pattern, text):
            return value
    return None


def _direction(text: str) -> str | None:
    """The travel direction a prompt names; "from the left" travels right."""
    text = re.sub(r"up and down|up-and-down|side to side|back and forth|left and right|upside down", " ", text)
    if m := re.search(r"\bfrom (the |its |his |her )?(left|right|top|bottom|above|below)\b", text):
        return _OPPOSITE[_DIRECTION_WORDS[m.group(2)]]
    if m := re.search(r"\b(left|right|top|bottom) to (the )?(left|right|top|bottom)\b", text):
        return _DIRECTION_WORDS[m.group(3)]
    if re.search(r"\bline by line\b", text):
        return "down"
    if m := re.search(r"\b(left|right|up|down)(ward|wards)?\b|\b(sky|ground)", text):
        return _DIRECTION_WORDS[m.group(1) or m.group(3)]
    if re.search(r"\b(rises?|rising|ascend\w*|climb\w*)\b", text):
        return "up"
    if re.search(r"\b(falls?|falling|fell|drops?|dropping|sinks?|sinking|descend\w*|plummet\w*)\b", text):
        return "down"
    if re.search(r"\b(roll|driv|drove|run|ran|walk|travel|rac|rid|rode|sail|swim|swam|crawl)\w*", text):
        return "right"  # travel along the ground reads left to right, the way a poster is read
    return None


def _cycles_factor_or_count(text: str) -> tuple[int | None, float | None]:
    if m := re.search(r"\b(\d+|one|two|three|four|five|six|seven|eight) times\b", text):
        word = m.group(1)
        return (int(word) if word.isdigit() else _NUMBER_WORDS[word]), None
    if m := re.search(r"\b(once|twice|thrice)\b", text):
        return _NUMBER_WORDS[m.group(1)], None
    if re.search(r"\ba few times\b|\bseveral times\b", text):
        return 3, None
    if re.search(r"\brepeatedly\b|again and again|over and over", text):
        return 4, None
    return None, _first(_SPEED_WORDS, text)


def _candidates(text: str) -> dict[str, Any]:
    """Every parameter the wording implies, before knowing which preset will use them."""
    found: dict[str, Any] = {}
    amplitude = _first(_AMPLITUDE_WORDS, text)
    if amplitude is not None:
        found["amplitude"] = amplitude
        found["depth"] = min(1.0, 0.4 + amplitude)
        found["squash"] = amplitude
    count, factor = _cycles_factor_or_count(text)
    if count is not None:
        found["cycles"] = max(1, min(8, count))
    elif factor is not None:
        found["speed"] = factor
    easing = _first(_EASING_WORDS, text)
    if easing:
        found["easing"] = easing
    direction = _direction(text)
    if direction:
        found["direction"] = direction
    if re.search(r"\bclockwise\b", text) and not re.search(r"(counter|anti)-? ?clockwise", text):
        found["direction"] = "right"
    elif re.search(r"(counter|anti)-? ?clockwise", text):
        found["direction"] = "left"
    if re.search(r"\b(at|from|on|around) (the |its )?(base|bottom|roots?|stem|feet|foot)\b|\brooted\b", text):
        found["pivot"] = "bottom"
    elif re.search(r"\bhang\w*|\bdangl\w*|\b(at|from) (the |its )?top\b|\bpendulum\b", text):
        found["pivot"] = "top"
    elif re.search(r"\b(around|about|on) (its|the) (own )?(center|centre|middle|axis)\b", text):
        found["pivot"] = "center"
    elif re.search(r"\bpole on the right\b", text):
        found["pivot"] = "right"
    if re.search(r"\bone after (another|the other)\b|\bone by one\b|\bin turn\b|\bin sequence\b|\bstagger\w*|\bcascad\w*", text):
        found["stagger"] = 0.15
    if re.search(r"\band stays?\b|\bfor good\b|\bnever (comes|come) back\b|\bdoes(n't| not) come back\b|"
                 r"\bwithout (coming back|returning)\b|\bjust once\b|\bno loop\b", text):
        found["loop"] = False
    if re.search(r"\bzooms? out\b|\bshrink\w*|\brecede\w*|away from the (camera|viewer)", text):
        found["mode"] = "out"
    if re.search(r"\bside to side\b|\bhorizontal\w*|\bleft and right\b", text):
        found["axis"] = "horizontal"
    elif re.search(r"\bup and down\b|\bvertical\w*", text):
        found["axis"] = "vertical"
    elif re.search(r"\ball over\b|\bevery direction\b|\ball directions\b", text):
        found["axis"] = "both"
    return found


def params_from_prompt(prompt: str, preset: str) -> dict[str, Any]:
    """The parameters a prompt's wording implies for `preset`, limited to what it accepts.

    Used on its own when the designer picked a preset explicitly: the preset wins and the
    prompt's adverbs ("gently", "3 times", "from the left") still tune it.
    """
    spec = PRESETS[preset].params
    found = _candidates(_clean(prompt or ""))
    speed = found.pop("speed", None)
    if speed is not None and "cycles" in spec:
        found["cycles"] = max(1, min(8, round(spec["cycles"].default * speed)))
    params = {}
    for name, value in found.items():
        if name not in spec:
            continue
        if spec[name].kind == "choice" and value not in spec[name].choices:
            continue
        params[name] = value
    return params


def preset_for_prompt(prompt: str, kind: LayerKind | None) -> PromptMatch:
    """The preset and parameters a free-text motion prompt asks for.

    Prompts the vocabulary does not recognise get the default for the layer kind (bob for
    text, float otherwise) and a message saying so; their adverbs still apply.
    """
    text = _clean(prompt or "")
    scores, cues = _scores(text, kind)
    preset = _best(scores, kind)
    message = ""
    if preset is None:
        preset = default_preset(kind)
        shown = (prompt or "").strip()
        said = f"The prompt '{shown}' names no motion" if shown else "No motion prompt was given"
        message = (
            f"{said} the preset engine knows, so '{preset}' was used. Try words such as bob, wave, "
            "sway, float, bounce, spin, shake, pulse, fade, slide in, fly away or type out."
        )
    return PromptMatch(preset, params_from_prompt(prompt, preset), message, cues.get(preset, ""))
