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

import difflib
import re
from dataclasses import dataclass, field, replace
from typing import Any

from engine.motion.presets.catalog import PRESETS
from engine.motion.timing import TimingCue
from engine.core.poster import LayerKind

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "once": 1, "twice": 2, "thrice": 3}


@dataclass(frozen=True)
class PromptMatch:
    """The preset a prompt asks for, the parameters its wording implies, and a note for the
    designer when the prompt was not understood and a default was used.

    `words` says which words chose each parameter ({"direction": "to the left"}), so the
    editor can show what was understood before anything renders (`understood`).
    `message` is only set when the designer should act: no motion word was found (with
    close presets to try), or the motion needs a generative engine.
    """

    preset: str
    params: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    cue: str = ""  # the words that decided the preset ("" when the default was used); the planner quotes them
    words: dict[str, str] = field(default_factory=dict)
    suggestions: tuple[str, ...] = ()
    in_place: bool = False  # a full-bleed layer: the motion was swapped for one inside its own frame
    needs_generative: bool = False
    chosen: bool = False  # the preset was chosen (menu or plan), the prompt only tuned it
    #: When it plays, as the words say (phase, start, duration); their words are in
    #: `words` under "timing.phase", "timing.start" and "timing.duration".
    timing: TimingCue = field(default_factory=TimingCue)
    #: "in" or "out": a fade the motion plays with over the same span ("spins while fading
    #: out"); its words are in `words` under "fade".
    fade: str = ""
    #: The later steps of a sequence ("pops in, then floats"), each read as a prompt of its
    #: own; this match is the first step.
    then: tuple["PromptMatch", ...] = ()
    #: A second rigid motion played at the same time over the same span ("rises and sways",
    #: "spins in"): its preset, the parameters its own words set, and those words.
    together: "PromptMatch | None" = None

    @property
    def steps(self) -> tuple["PromptMatch", ...]:
        """Every step in the order it plays (one for a prompt that names one motion)."""
        return (self, *self.then)

    @property
    def understood(self) -> str:
        """What was understood, with the words that chose each part: one sentence for one
        motion, one numbered sentence per step for a sequence."""
        if not self.then:
            return self._reading(first=True) + "."
        steps = " ".join(f"{n}: {step._reading(first=False)}." for n, step in enumerate(self.steps, 1))
        return f"Understood {len(self.steps)} steps, played one after another. {steps}"

    def _reading(self, first: bool) -> str:
        """The motion picked, its parameters and timing, and the words that chose them."""
        said = "Understood: " if first else ""
        if not self.cue and not self.chosen:
            said = ""
        tail = self._motion()
        if self.together is not None:
            tail += f"; together with {self.together._motion()}, at the same time"
        if self.fade:
            tail += f"; fading {self.fade} over the same span from '{self.words.get('fade', '')}'"
        tail += _timing_text(self.timing, self.words)
        where = ("; the layer covers the poster, so it moves inside its own frame (edges are cropped)"
                 if self.in_place else "")
        return f"{said}{tail}{where}"

    def _motion(self) -> str:
        """One motion, its parameters, and the words that chose them."""
        label = PRESETS[self.preset].label
        if self.cue:
            head = f"{label} ('{self.preset}') from '{self.cue}'"
        elif self.chosen:
            head = f"{label} ('{self.preset}'), the preset chosen"
        else:
            head = f"No motion word found, so the default {label} ('{self.preset}')"
        parts = []
        for name, value in self.params.items():
            shown = f"{value:g}" if isinstance(value, float) else str(value).lower()
            said = self.words.get(name)
            parts.append(f"{name} {shown} from '{said}'" if said else f"{name} {shown}")
        return head + (f"; {', '.join(parts)}" if parts else "; default settings")


#: Winged things: they suggest a flutter, but name no motion of their own.
_WINGED = r"\bwings?\b|\bbutterfl\w*|\bmoths?\b|\bdragonfl\w*|\bbees?\b|\bhummingbirds?\b"

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
                   r"\bswell\w*|\binflat\w*"),
    ("breathe", 1, r"\bhearts?\b|\bstars?\b"),
    ("bounce", 4, r"\bbounc\w*|\bjump\w*|\bhop(s|ping|ped)?\b|\bleap\w*|\bboing\b|\bsquash\w*"),
    ("bounce", 1, r"\bballs?\b|\bfrogs?\b|\bkangaroos?\b|\brabbits?\b|\bbunn(y|ies)\b"),
    ("shake", 4, r"\bshak\w*|\bshook\b|\bshiver\w*|\btrembl\w*|\bvibrat\w*|\bjitter\w*|\brattl\w*|\bquak\w*|"
                 r"\bbuzz\w*|\bshudder\w*|\bquiver\w*|\bnervous\w*|\bearthquake\b|\bglitch\w*"),
    ("spin", 4, r"\bspin\w*|\bspun\b|\brotat\w*|\btwirl\w*|\bwhirl\w*|\brevolv\w*|\bpirouette\w*|turns? around|"
                r"\bcartwheel\w*|\b(counter|anti)?-?clockwise\b"),
    ("spin", 5, r"\b(turn|rotat|tilt|swivel|pivot)\w* (\w+ ){0,2}(\d{1,3} ?(degrees?|deg)\b|(a |one )?(quarter|half|full|whole)( a)? turn\b)|"
                r"\b(a |one )?(quarter|half)( a)? turn\b"),
    ("spin", 1, r"\bwheels?\b|\bgears?\b|\bfans?\b|\bpropellers?\b|\bpinwheels?\b|\bvinyl\b|\brecords?\b"),
    ("jelly", 4, r"\bjell(y|o)\b|\bwobbl\w*|\bwiggl\w*|\bjiggl\w*|\bsquish\w*|\bgelatin\w*|\bblobs?\b|\bgooey\b"),
    ("zoom", 3, r"\bpops?\b|\bpopping\b"),
    ("zoom", 4, r"\bzoom\w*|\bgrow(s|ing)?\b|\benlarg\w*|scales? up|comes? closer|\bshrink\w*|\brecede\w*|"
                r"\bpops? out\b|\bloom\w*"),
    ("fly_away", 6, r"fl(y|ies|ying|ew) (away|off|out)|takes? off|blasts? off|\blaunch\w*|soars? away|"
                    r"\bescap\w*|\bleave\b|\bleaving\b|\bleaves (the|its|his|her|for|through)\b|\bexit\w*|\bdepart\w*|"
                    r"\bflee\w*|\b(driv|run|ran|walk|mov|go|went|rid|sail|swim|float|zoom|speed|rac|drift)\w* (away|off)\b"),
    ("fly_away", 6, r"\band away\b|\bout of (the )?(frame|poster|picture|view|sight)\b|"
                    r"\b(roll|driv|run|ran|rac|rid|head|fl(y|ie))\w*( \w+){0,2} "
                    r"(to(wards?)? (the )?(left|right)\b|(left|right)wards?\b)"),
    # Travel that loops: a layer that drifts, swims or rises somewhere swings there and back
    # (or wraps around), instead of flying off and vanishing for part of every loop.
    ("travel", 7, r"\b(drift|swim|swam|float|glid|sail|mov|travel|walk|crawl|wander|cruis|scroll|stroll|paddl|roam|dart|dash|scurr|creep|crept|inch|zip|zipp|whiz|shoot|shot|streak|rush|slither|waddl|scoot|pac)\w*"
                  r"( \w+){0,3} (to(wards?)? (the )?(left|right|top|bottom)\b|(left|right)wards?\b|across\b)|"
                  r"\bfl(y|ies|ying|ew) across\b"),
    # Where, without a verb of its own ("clouds across the sky"): travel, unless a verb says
    # otherwise ("waves ripple across the water" ripples).
    ("travel", 3, r"\bacross the (sky|poster|screen|frame|page|picture|sea|water|canvas)\b"),
    ("travel", 7, r"\b(rises?|rising|climbs?|climbing|ascend\w*|floats? up|drifts? up)( \w+){0,2} (into|up into|up to|to|toward|towards) "
                  r"(the )?(sky|clouds?|heavens|top|surface)\b|\b(sinks?|sinking|descend\w*) (slowly )?(to|toward|towards) the (bottom|floor|ground)\b"),
    ("travel", 7, r"\b(sun|moon)( \w+){0,2} (sets?|setting|goes down|going down|sinks?|sinking)\b"),
    ("travel", 5, r"\bendless\w*|\bconveyor\b|\bmarquee\b|\bticker\b|\bwraps? around\b|\bloops? around\b"),
    # Going somewhere and coming back is a travel swing ("swims back and forth"), not a sway about a base.
    ("travel", 8, r"\b(drift|swim|swam|float|glid|sail|mov|travel|walk|crawl|wander|cruis|scroll|stroll|paddl|roam|dart|dash|scurr|creep|crept|inch|zip|zipp|whiz|shoot|shot|streak|rush|slither|waddl|scoot|pac|roll|ran|run|rid|rode|fl(y|ies|ew))\w*( \w+){0,2} (back and forth|to and fro|"
                  r"left and right|there and back|(to the )?(left|right|up|down) and back)\b"),
    ("travel", 9, r"\b(drift|swim|swam|float|glid|sail|mov|travel|walk|crawl|wander|cruis|stroll|paddl|roam|dart|dash|scurr|creep|crept|waddl|scoot|pac|roll|ran|run|rid|rode|fl(y|ies|ew))\w*"
                  r"( \w+){0,3} turns? (a)?round and (\w+ )?(back|returns?)\b"),
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
    ("flutter", 5, r"\bflap\w*"),
    ("flutter", 3, r"\bflutter\w*"),
    ("flutter", 3, _WINGED),
    ("flicker", 5, r"\bflicker\w*|\bcandles?\b|\bneon\b|\bfaulty\b|\btwinkl\w*|\bpulses? with light\b|\blight pulses?\b"),
    ("flicker", 4, r"\bglow\w*"),
    ("flicker", 2, r"\bglow\b|\blights?\b|\brays?\b|\bbeams?\b"),
    ("flicker", 6, r"\b(glow|light|lights|rays?|beams?|lamps?|neon)\b( \w+){0,2} (puls\w*|breath\w*|throb\w*)"),
    ("shimmer", 7, r"\bshimmer\w*|\bglint\w*|\bgleam\w*|\bshin(e|es|ing|y)\b|\bsheen\b|\bluster\b|\blustre\b|\bheat haze\b"),
    ("ripple", 5, r"\blike water\b|\bwater surface\b|\bsurface of the (water|sea|lake)\b|\bliquid\b|\bheat haze\b|\bmirage\b"),
    ("ripple", 8, r"\b(waves?|water|sea|lake|pond|river|surface|reflections?)\b( \w+){0,3} (ripples?|rippling|undulat\w*)\b|"
                  r"\bripples? (across|through|over|on) (the )?(water|sea|lake|pond|river|surface)\b"),
    ("caustics", 7, r"\bcaustic\w*|\blight (dances|dancing|plays|playing) (on|over|across)\b|\bdappl\w*|\bunderwater light\b"),
    ("push_in", 7, r"\bcamera( \w+){0,2} zooms?\b|\bpush(es|ing)? in\b|\bpull(s|ing)? (out|back)\b|\bdolly\b|\bken burns\b|\bcamera (slowly )?(moves? |pushes )?(in|closer)\b"),
    ("pan", 7, r"\bpans?\b|\bpanning\b|\bcamera (slowly )?(moves?|drifts?|slides?) (to the )?(left|right|up|down)\b"),
    ("parallax", 8, r"\bparallax\b|\bdepth effect\b"),
    ("pop_in", 7, r"\bpops? (in|up|into|onto)\b|\bpopping (in|up)\b|\bpop-in\b|\bsnaps? in\b|\bbursts? in\b|\bslams? (in|down|into|onto)\b|\bstamps? (in|down|on)\b"),
    ("particles", 8, r"\b(it )?(snows|snowing|rains|raining)\b|\bsnow ?(falls?|falling|flakes?|storm)\b|\bsnowflakes?\b|"
                     r"\brain ?(falls?|falling|pours?|pouring|storm|fall|drops fall)\b|\bconfetti\b|\bglitter\w*|"
                     r"\bsparkles?\b|\bsparkling\b|\b(add|with) (some |a few |lots of )?(rain|snow|bubbles|sparkles?|confetti)\b|"
                     r"\bstreams? of bubbles\b|\bbubbles (rise|rising|stream|streaming)( up)? (from|out of|over|through|in)\b|\bfizz\w*"),
)

#: Words whose motion depends on what moves: (pattern, preset for type, preset for artwork).
#: "wave" is a text wave for a title but a cloth wave for a picture; dancing or rocking
#: letters rock in a wave while a dancing figure or a rocking boat sways.
#: Words whose motion depends on what moves: (pattern, preset for type, preset for artwork).
#: "wave" is a text wave for a title but a cloth wave for a picture; dancing or rocking
#: letters rock in a wave while a dancing figure or a rocking boat sways; rippling letters
#: ripple as a text wave, rippling water as a ripple.
_BY_KIND: tuple[tuple[re.Pattern, str, str], ...] = (
    (re.compile(r"\bwav(e|es|ed|ing|y)\b"), "text_wave", "flag_wave"),
    (re.compile(r"\bdanc\w*"), "wave_rotate", "sway"),
    (re.compile(r"\brock(s|ing|ed)?\b|\bseesaw\w*|\bteeter\w*|\btilt(s|ing)? back and forth|"
                r"side to side|side-to-side|back and forth|to and fro"), "wave_rotate", "sway"),
    (re.compile(r"\bripples?\b|\brippling\b|\bundulat\w*"), "text_wave", "ripple"),
)
_TEXT_NOUNS = re.compile(r"\b(text|title|titles|headline|heading|letters?|words?|caption|slogan|tagline|type|name|logo)\b")

#: A full-bleed layer (sky, sea, paper) cannot get a larger box than the canvas, so a
#: motion that needs room is swapped for the closest one that moves inside its own frame.
_IN_PLACE: dict[str, str] = {
    "travel": "pan", "fly_away": "pan", "slide_in": "pan", "float": "pan", "bob": "pan", "parallax": "parallax",
    "zoom": "push_in", "breathe": "push_in", "pop_in": "push_in", "bounce": "push_in",
    "text_wave": "ripple", "flag_wave": "ripple", "sway": "ripple", "jelly": "ripple", "wave_rotate": "ripple",
    "shake": "ripple",
}

#: Motions of a body the presets cannot draw (a hand waving, eyes blinking): the words,
#: and what the designer is told. The closest preset still plays, and the message says so.
_GENERATIVE = re.compile(
    r"\b(her|his|their|my|your) (hand|hands|arm|arms|head|eyes?|mouth|lips|hair|legs?|feet|fingers?|face)\b|"
    r"\b(cat|dog|bird|owl|fish|girl|boy|man|woman|person|character|kid|child|baby|face|he|she|they|people|eyes?)"
    r"( \w+){0,2} (blinks?|blinking|winks?|winking|smiles?|smiling|talks?|talking|speaks?|speaking|laughs?|"
    r"laughing|sings?|singing|chews?|eats?|eating|cries|crying|frowns?|yawns?|yawning|opens (its|her|his) (mouth|eyes))\b|"
    r"\bturns? (her|his|its|their) head\b|\blip ?sync\w*\b|\bfacial\b"
)

#: Mood words with no motion in them, and the presets that come closest.
_MOODS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\bcinematic\w*|\bepic\b|\bfilm\w*|\bmovie\b|\bdramatic\w*", ("push_in", "pan", "parallax")),
    (r"\bexpensive\b|\bluxur\w*|\belegan\w*|\bpremium\b|\bclassy\b|\bsophisticat\w*|\bgold\w*", ("shimmer", "push_in", "flicker")),
    (r"\bmagic\w*|\bdream\w*|\bfestive\b|\bcelebrat\w*|\bparty\b|\bchristmas\b|\bwinter\b", ("particles", "flicker", "float")),
    (r"\bfun\b|\bplayful\b|\bhappy\b|\bcute\b|\bbouncy\b|\bexcit\w*", ("bounce", "pop_in", "jelly")),
    (r"\bcalm\w*|\bpeaceful\b|\brelax\w*|\bserene\b|\bzen\b|\bchill\b", ("float", "ripple", "breathe")),
    (r"\balive\b|\blively\b|\bdynamic\b|\benerg\w*|\bpop\b", ("pop_in", "shake", "zoom")),
)
_DEFAULT_SUGGESTIONS = ("float", "sway", "travel", "pop_in", "ripple", "push_in")

_AMPLITUDE_WORDS: tuple[tuple[float, str], ...] = (
    (1.0, r"very wild\w*|like crazy|\bviolent\w*|\bcrazy\b|\bcrazily\b|\bfrantic\w*|\bmadly\b|\bhuge\b|\bextreme\w*"),
    (0.15, r"very (gentl\w*|slight\w*|subtl\w*|soft\w*)|\bbarely\b|\bhardly\b|\btiny\b|\bfaint\w*"),
    (0.9, r"\bwild\w*|\bvigorous\w*|\bstrong\w*|\bdramatic\w*|\benergetic\w*|\bintense\w*|\bpowerful\w*|"
          r"\bhard\b|\ba lot\b|\bhigh\b|\bwide\w*|\bfar (to|across|up|down|left|right|into|out|off)\b|"
          r"\b(go|goes|travel\w*|mov\w*|drift\w*|swim\w*|fl(y|ies)|rises?|float\w*) far\b|\ba long way\b|\ball the way\b"),
    (0.25, r"\bgentl\w*|\bsoft\w*|\bsubtl\w*|\bslight\w*|\blightly\b|\bcalm\w*|\ba (little|bit)\b|"
           r"\bmild\w*|\btender\w*|\bjust a touch\b"),
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
_STYLE_WORDS: tuple[tuple[str, str], ...] = (
    ("rain", r"\brain\w*"), ("snow", r"\bsnow\w*"), ("bubbles", r"\bbubbl\w*|\bfizz\w*"),
    ("confetti", r"\bconfetti\b"), ("sparkle", r"\bsparkl\w*|\bglitter\w*"),
    ("twinkle", r"\btwinkl\w*"), ("flicker", r"\bflicker\w*|\bcandles?\b|\bneon\b|\bfaulty\b"),
    ("pulse", r"\bglow\w*|\bpuls\w*"),
)
_DIRECTION_WORDS = {"left": "left", "right": "right", "top": "up", "bottom": "down", "above": "up", "below": "down",
                    "up": "up", "down": "down", "sky": "up", "ground": "down"}
_OPPOSITE = {"up": "down", "down": "up", "left": "right", "right": "left"}


_PHASE_NAMES = {"in": "an entrance (phase in)", "out": "an exit (phase out)", "loop": "a loop"}


def _timing_text(cue: TimingCue, words: dict[str, str]) -> str:
    """"; plays as an entrance (phase in) from 'pops in', starting at the end from 'at
    the end', lasting 1 s from 'over 1 second'" — only what the words set."""
    parts = []
    if cue.phase:
        said = words.get("timing.phase")
        parts.append(f"plays as {_PHASE_NAMES[cue.phase]}" + (f" from '{said}'" if said else ""))
    start = ("at the end" if cue.at_end else f"after {cue.start_seconds:g} s" if cue.start_seconds
             else "at the start" if cue.start_seconds == 0 else
             f"{cue.start_share:.0%} into the timeline" if cue.start_share is not None else "")
    if start:
        parts.append(f"starting {start} from '{words.get('timing.start', '')}'")
    if cue.duration_seconds is not None:
        parts.append(f"lasting {cue.duration_seconds:g} s from '{words.get('timing.duration', '')}'")
    return f"; {', '.join(parts)}" if parts else ""


_SECONDS = (r"(?:(?P<n>\d+(?:\.\d+)?|an?|one|two|three|four|five|six|ten|half an?|a quarter of an?)(?P<half> and a half)? "
            r"(?:seconds?|secs?|s)\b|(?P<ms>\d+) ?(?:ms|milliseconds?)\b)")
_SECOND_WORDS = {"a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0, "six": 6.0,
                 "ten": 10.0, "half a": 0.5, "half an": 0.5, "a quarter of a": 0.25, "a quarter of an": 0.25}
#: Words that keep a motion going: a loop even when the preset is an entrance or exit.
_LOOP_WORDS = re.compile(r"\bloops?\b|\blooping\b|\bforever\b|\bagain and again\b|\bover and over\b|\brepeated\w*|"
                         r"\bcontinuous\w*|\bendless\w*|\bthe whole time\b|\ball the time\b|\bkeeps? \w+ing\b")
_STAYS_WORDS = re.compile(r"\b(and|then) (stays?|holds?|rests?|settles?|stops)\b|\bstays? (there|put|in place)\b|\bfor good\b")


def _seconds_of(m: re.Match) -> float:
    if m.group("ms"):
        return int(m.group("ms")) / 1000.0
    word = m.group("n")
    value = float(word) if word[0].isdigit() else _SECOND_WORDS[word]
    return value + (0.5 if m.group("half") else 0.0)


def read_timing(prompt: str, preset: str, params: dict[str, Any], *, natural: bool = True) -> tuple[TimingCue, dict[str, str]]:
    """When a prompt says the motion plays, and the words that said it.

    The phase comes from words that keep it going ("forever", "over and over": a loop),
    else (with `natural`: the prompt chose or named this motion) from the preset itself:
    "pops in", "slides in", "types itself out" are entrances, "fades out" and "flies
    away" exits (catalog.Preset.natural_phase). A start: "after half a second", "after a
    moment", "halfway", "at the end"; a duration: "over 1 second", "for the first second".
    """
    text = _clean(prompt or "")
    words: dict[str, str] = {}
    phase = None
    if m := _LOOP_WORDS.search(text):
        phase, words["timing.phase"] = "loop", m.group(0).strip()
    elif natural and text.strip():
        natural_phase = PRESETS[preset].natural_phase(params)
        if natural_phase != "loop":
            setting = PRESETS[preset].phase_params.get(natural_phase, {})
            said_by = _candidates(text)[1]
            cue = (" ".join(said_by[name] for name in setting if said_by.get(name))  # "fades out", not "fades"
                   or _scores(text, None)[1].get(preset) or _scores(text, LayerKind.TEXT)[1].get(preset, ""))
            stays = _STAYS_WORDS.search(text)
            said = " … ".join(w for w in (cue, stays.group(0).strip() if stays else "") if w)
            phase = natural_phase
            if said:
                words["timing.phase"] = said
    start_seconds = start_share = duration = None
    at_end = False
    m = (re.search(r"\bfor (the )?(?P<which>first|last|final|opening|closing) " + _SECONDS, text)
         or re.search(r"\bfor (the )?(?P<which>first|last|final|opening|closing) (?P<one>second)\b", text))
    if m:
        duration = 1.0 if "one" in m.groupdict() else _seconds_of(m)
        words["timing.duration"] = m.group(0).strip()
        if m.group("which") in ("first", "opening"):
            start_seconds, words["timing.start"] = 0.0, m.group(0).strip()
        else:
            at_end, words["timing.start"] = True, m.group(0).strip()
    elif m := re.search(r"\b(over|in|within|during|taking|lasting|across|for) (about |around |roughly )?" + _SECONDS, text):
        duration, words["timing.duration"] = _seconds_of(m), m.group(0).strip()
    if "timing.start" not in words:
        if m := re.search(r"\b(after|at|from) (about |around )?" + _SECONDS, text):
            start_seconds, words["timing.start"] = _seconds_of(m), m.group(0).strip()
        elif m := re.search(r"\bafter a (short |little )?(moment|beat|while|pause|bit|wait)\b|\bdelayed\b|\bwith a delay\b", text):
            start_share, words["timing.start"] = 0.25, m.group(0).strip()
        elif m := re.search(r"\bhalfway( through)?\b|\bin the middle\b|\bmidway\b", text):
            start_share, words["timing.start"] = 0.5, m.group(0).strip()
        elif m := re.search(r"\bat the (very )?end\b|\bin the end\b|\bat the last moment\b|\btowards? the end\b|"
                            r"\bbefore the end\b|\bto finish\b|\bfinally\b|\bat the close\b", text):
            at_end, words["timing.start"] = True, m.group(0).strip()
        elif m := re.search(r"\bat (the )?(start|beginning)\b|\bright away\b|\bimmediately\b|\bfrom the (start|beginning)\b", text):
            start_seconds, words["timing.start"] = 0.0, m.group(0).strip()
    return TimingCue(phase, start_seconds, start_share, at_end, duration), words


def default_preset(kind: LayerKind | None, full_bleed: bool = False) -> str:
    """The motion used when nothing says otherwise: text bobs, a full-bleed layer pushes
    in slowly inside its frame, everything else floats."""
    if full_bleed:
        return "push_in"
    return "bob" if kind == LayerKind.TEXT else "float"


def _clean(prompt: str) -> str:
    text = prompt.lower().replace("’", "'")
    text = re.sub(r"\s*&\s*|\s+'?n'?\s+", " and ", text)  # "up n down", "back 'n' forth", "rock & roll"
    text = re.sub(r"[^a-z0-9' -]+", " ", text)
    return " " + re.sub(r"\s+", " ", text).strip() + " "


def _scores(text: str, kind: LayerKind | None, texty: bool = False) -> tuple[dict[str, float], dict[str, str]]:
    """Each preset's keyword score, and the words that weighed most for it (its cue).

    `texty`: the words are about lettering even if this part of the prompt does not say so
    (a later step of "the title fades in, then waves")."""
    scores: dict[str, float] = {}
    cues: dict[str, tuple[float, str]] = {}

    def add(preset: str, weight: float, words: str) -> None:
        scores[preset] = scores.get(preset, 0.0) + weight
        if weight > cues.get(preset, (0.0, ""))[0]:
            cues[preset] = (weight, words.strip())

    for preset, weight, pattern in _VOCABULARY:
        if m := re.search(pattern, text):
            add(preset, weight, m.group(0))
    if "travel" in scores and re.search(r"\bacross\b", text) and not re.search(r"\b(away|off)\b|\bout of\b", text):
        scores.pop("fly_away", None)  # "flies across to the left" crosses and comes round; it does not leave
        cues.pop("fly_away", None)
    texty = texty or kind == LayerKind.TEXT or bool(_TEXT_NOUNS.search(text))
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
    """The value of the first matching (value, pattern) row, and the words that matched."""
    for value, pattern in table:
        if m := re.search(pattern, text):
            return value, m.group(0).strip()
    return None, ""


def _direction(text: str) -> tuple[str | None, str]:
    """The travel direction a prompt names, and its words; "from the left" travels right."""
    text = re.sub(r"up and down|up-and-down|side to side|back and forth|left and right|upside down",
                  lambda m: " " * len(m.group(0)), text)
    if m := re.search(r"\bfrom (the |its |his |her )?(left|right|top|bottom|above|below)\b", text):
        return _OPPOSITE[_DIRECTION_WORDS[m.group(2)]], m.group(0).strip()
    if m := re.search(r"\b(left|right|top|bottom) to (the )?(left|right|top|bottom)\b", text):
        return _DIRECTION_WORDS[m.group(3)], m.group(0).strip()
    if m := re.search(r"\bline by line\b", text):
        return "down", m.group(0)
    if m := re.search(r"\b(left|right|up|down)(ward|wards)?\b", text):
        return _DIRECTION_WORDS[m.group(1)], m.group(0).strip()
    if m := re.search(r"\b(into|to|toward|towards|in|from) (the )?(sky|ground)\b", text):
        return _DIRECTION_WORDS[m.group(3)] if m.group(1) != "from" else _OPPOSITE[_DIRECTION_WORDS[m.group(3)]], m.group(0)
    if m := re.search(r"\b(sun|moon)( \w+){0,2} (sets?|setting|goes down|going down)\b", text):
        return "down", m.group(0)
    if m := re.search(r"\b(rises?|rising|ascend\w*|climb\w*|bubbl\w*)\b", text):
        return "up", m.group(0)
    if m := re.search(r"\b(falls?|falling|fell|drops?|dropping|sinks?|sinking|descend\w*|plummet\w*)\b", text):
        return "down", m.group(0)
    if m := re.search(r"\b(roll|driv|drove|run|ran|walk|travel|rac|rid|rode|sail|swim|swam|crawl)\w*", text):
        return "right", m.group(0)  # travel along the ground reads left to right, the way a poster is read
    return None, ""


def _cycles_factor_or_count(text: str) -> tuple[int | None, float | None, str]:
    if m := re.search(r"\b(\d+|one|two|three|four|five|six|seven|eight) times\b", text):
        word = m.group(1)
        return (int(word) if word.isdigit() else _NUMBER_WORDS[word]), None, m.group(0)
    if m := re.search(r"\b(once|twice|thrice)\b", text):
        return _NUMBER_WORDS[m.group(1)], None, m.group(0)
    if m := re.search(r"\ba few times\b|\bseveral times\b", text):
        return 3, None, m.group(0)
    if m := re.search(r"\brepeatedly\b|again and again|over and over", text):
        return 4, None, m.group(0)
    factor, words = _first(_SPEED_WORDS, text)
    return None, factor, words


def _candidates(text: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Every parameter the wording implies, before knowing which preset will use them, and
    the words that implied each."""
    found: dict[str, Any] = {}
    words: dict[str, str] = {}

    def put(name: str, value: Any, said: str) -> None:
        found[name], words[name] = value, said

    amplitude, said = _first(_AMPLITUDE_WORDS, text)
    if amplitude is not None:
        put("amplitude", amplitude, said)
        put("depth", min(1.0, 0.4 + amplitude), said)
        put("squash", amplitude, said)
    count, factor, said = _cycles_factor_or_count(text)
    if count is not None:
        put("cycles", max(1, min(8, count)), said)
    elif factor is not None:
        put("speed", factor, said)
    easing, said = _first(_EASING_WORDS, text)
    if easing:
        put("easing", easing, said)
    direction, said = _direction(text)
    if direction:
        put("direction", direction, said)
    if m := re.search(r"\b(a |one )?(quarter|half|full|whole)( a)? turn\b|\b(\d{1,3}) ?(degrees?|deg)\b", text):
        turn = {"quarter": 90.0, "half": 180.0, "full": 360.0, "whole": 360.0}.get(m.group(2) or "")
        put("angle", float(min(360, max(5, int(m.group(4))))) if m.group(4) else turn, m.group(0).strip())
    if m := re.search(r"(counter|anti)-? ?clockwise", text):
        put("direction", "left", m.group(0))
    elif m := re.search(r"\bclockwise\b", text):
        put("direction", "right", m.group(0))
    if m := re.search(r"\b(at|from|on|around) (the |its )?(base|bottom|roots?|stem|feet|foot)\b|\brooted\b", text):
        put("pivot", "bottom", m.group(0).strip())
    elif m := re.search(r"\bhang\w*|\bdangl\w*|\b(at|from) (the |its )?top\b|\bpendulum\b", text):
        put("pivot", "top", m.group(0).strip())
    elif m := re.search(r"\b(around|about|on) (its|the) (own )?(center|centre|middle|axis)\b", text):
        put("pivot", "center", m.group(0))
    elif m := re.search(r"\bpole on the right\b", text):
        put("pivot", "right", m.group(0))
    if m := re.search(r"\bone after (another|the other)\b|\bone by one\b|\bin turn\b|\bin sequence\b|\bstagger\w*|\bcascad\w*", text):
        put("stagger", 0.15, m.group(0))
    if m := re.search(r"\band stays?\b|\bthen stays?\b|\bthen (stops|holds|rests|settles)\b|\bfor good\b|"
                      r"\bnever (comes|come) back\b|\bdoes(n't| not) come back\b|\bwithout (coming back|returning)\b|"
                      r"\bjust once\b|\bonly once\b|\bno loop\b|\band stops\b|\bstays? (there|put|in place)\b", text):
        put("loop", False, m.group(0).strip())
    # "at the end", "after a moment": when the motion starts is its timing (read_timing), not a delay
    if m := re.search(r"\bzooms? out\b|\bshrink\w*|\brecede\w*|away from the (camera|viewer)", text):
        put("mode", "out", m.group(0).strip())
    if m := re.search(r"\band back\b|\bback and forth\b|\bto and fro\b|\bthere and back\b|\bleft and right\b|"
                      r"\bturns? (a)?round and (\w+ )?(back|returns?)\b", text):
        put("mode_travel", "swing", m.group(0).strip())  # it comes back the way it went
    elif m := re.search(r"\bacross\b|\bendless\w*|\bconveyor\b|\bmarquee\b|\bticker\b|\bwraps? around\b|\bloops? around\b|"
                      r"\bscroll\w*|\bround and round\b|\bcomes? back (in )?from the other side\b", text):
        put("mode_travel", "wrap", m.group(0).strip())
    elif m := re.search(r"\b(swim|swam|sail|walk|run|ran|fl(y|ies|ew)|travel|mov|cruis|crawl|march|scroll|dart|dash|scurr|"
                        r"zip|whiz|shoot|shot|streak|rush|rac|speed|scoot)\w*( \w+){0,3} "
                        r"(to(wards?)? (the )?(left|right)\b|(left|right)wards?\b)", text):
        if _first(_SPEED_WORDS, text)[0] is None or _first(_SPEED_WORDS, text)[0] > 1:
            # a swim or a flight with somewhere to go keeps going: it wraps around its box
            put("mode_travel", "wrap", m.group(0).strip())
    if m := re.search(r"\bside to side\b|\bhorizontal\w*|\bleft and right\b", text):
        put("axis", "horizontal", m.group(0))
    elif m := re.search(r"\bup and down\b|\bvertical\w*", text):
        put("axis", "vertical", m.group(0))
    elif m := re.search(r"\ball over\b|\bevery direction\b|\ball directions\b", text):
        put("axis", "both", m.group(0))
    if m := re.search(r"\bfades? (\w+ )?in and out\b|\bfades? (\w+ )?out and (back )?in\b", text):
        put("shape", "out_in", m.group(0).strip())
    elif m := re.search(r"\bfades? (\w+ ){0,3}in\b|\bfading in\b|\bfades? into view\b", text):
        put("shape", "in", m.group(0).strip())
    elif m := re.search(r"\bfades? (\w+ ){0,3}(out|away)\b|\bfading (out|away)\b", text):
        put("shape", "out", m.group(0).strip())
    elif m := re.search(r"\bdisappears?\b|\bvanish(es)?\b|\bdissolves?( away)?\b", text):
        put("shape", "out", m.group(0).strip())
    elif m := re.search(r"\bappears?\b|\bcomes? into view\b|\bmaterialis\w*|\bmaterializ\w*", text):
        put("shape", "in", m.group(0).strip())
    style, said = _first(_STYLE_WORDS, text)
    if style:
        put("style", style, said)
    if m := re.search(r"\b(far|distant|background|back)\b( \w+){0,2}", text):
        put("depth_far", 0.8, m.group(0).strip())
    elif m := re.search(r"\b(near|close|foreground|front)\b", text):
        put("depth_far", 0.2, m.group(0).strip())
    return found, words


def _tuned(found: dict[str, Any], words: dict[str, str], preset: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The candidate parameters that `preset` takes, in its own terms."""
    spec = PRESETS[preset].params
    found, words = dict(found), dict(words)
    speed, speed_words = found.pop("speed", None), words.pop("speed", "")
    if "mode_travel" in found:
        if preset == "travel":
            found["mode"] = found["mode_travel"]
            words["mode"] = words["mode_travel"]
        del found["mode_travel"]
    if "depth_far" in found:
        if preset == "parallax":
            found["depth"], words["depth"] = found["depth_far"], words["depth_far"]
        del found["depth_far"]
    if preset not in ("fade",):
        found.pop("shape", None)
    if preset in ("travel", "parallax", "pan", "push_in") and "amplitude" not in found and "depth" in found:
        found.pop("depth")  # "gently" sets a fade's depth, not how far a layer is
    if preset == "particles" and found.get("style") in ("twinkle", "flicker", "pulse"):
        found["style"] = "sparkle"
    if preset == "flicker" and found.get("style") not in (None, "twinkle", "flicker", "pulse"):
        found["style"] = "twinkle" if found["style"] == "sparkle" else "pulse"
    if preset == "particles" and "direction" not in found and found.get("style") == "bubbles":
        found["direction"], words["direction"] = "up", words.get("style", "bubbles")
    if speed is not None:
        cycles = spec.get("cycles")
        slower_than_one = cycles is not None and speed < 1 and round(cycles.default * speed) < 1
        if preset == "spin" and speed < 1 and "cycles" not in found:
            # a slow whole turn cannot loop in a short clip: turn part of the way and back
            if "angle" not in found:  # "a quarter turn slowly" keeps its quarter
                found["angle"], words["angle"] = (45.0 if speed < 0.4 else 90.0), speed_words
            found["cycles"], words["cycles"] = 1, speed_words
        elif preset in ("travel", "parallax") and speed < 1 and found.get("mode") != "wrap":
            base = found.get("amplitude", spec["amplitude"].default)
            found["amplitude"], words["amplitude"] = round(base * max(speed, 0.34), 3), speed_words
        elif cycles is not None and "cycles" not in found and not slower_than_one:
            found["cycles"], words["cycles"] = max(1, min(8, round(cycles.default * speed))), speed_words
        elif cycles is not None and "cycles" not in found and "amplitude" in spec and "amplitude" not in found:
            # already one cycle per clip: slower reads as a smaller, calmer motion
            found["amplitude"], words["amplitude"] = round(spec["amplitude"].default * max(speed, 0.34), 3), speed_words
    params, said = {}, {}
    for name, value in found.items():
        if name not in spec:
            continue
        if spec[name].kind == "choice" and value not in spec[name].choices:
            continue
        params[name] = value
        if words.get(name):
            said[name] = words[name]
    if "phase" in params and not PRESETS[preset].phase_is_delay:
        del params["phase"]  # "at the end" delays a one-shot; a loop has no end
        said.pop("phase", None)
    return params, said


def params_from_prompt(prompt: str, preset: str) -> dict[str, Any]:
    """The parameters a prompt's wording implies for `preset`, limited to what it accepts.

    Used on its own when the designer picked a preset explicitly: the preset wins and the
    prompt's adverbs ("gently", "3 times", "from the left") still tune it.
    """
    found, words = _candidates(_clean(prompt or ""))
    return _tuned(found, words, preset)[0]


def suggestions_for(prompt: str, limit: int = 3) -> tuple[str, ...]:
    """Presets close to a prompt that names no motion: by mood ("cinematic" -> push_in,
    pan, parallax), then by spelling, then a general short list."""
    text = _clean(prompt or "")
    picked: list[str] = []
    for pattern, presets in _MOODS:
        if re.search(pattern, text):
            picked.extend(p for p in presets if p not in picked)
    for word in text.split():
        for close in difflib.get_close_matches(word, list(PRESETS), n=1, cutoff=0.8):
            if close not in picked:
                picked.append(close)
    for preset in _DEFAULT_SUGGESTIONS:
        if preset not in picked:
            picked.append(preset)
    return tuple(picked[:limit])


def _no_motion_message(shown: str, preset: str, suggestions: tuple[str, ...]) -> str:
    said = f"The prompt '{shown}' names no motion" if shown else "No motion prompt was given"
    return (
        f"{said} the preset engine knows, so the default '{preset}' plays. Closest presets: "
        f"{', '.join(suggestions)}; or use words such as bob, wave, sway, float, drift to the left, "
        "bounce, spin, flutter, ripple, pulse, fade in, pop in, slide in, fly away or type out."
    )


def _generative_message(words: str, preset: str) -> str:
    return (
        f"'{words}' is a motion of a body part that the presets cannot draw: it needs a generative "
        f"engine (dmdl or i2v). Until then the closest preset, '{preset}', moves the whole layer."
    )


#: What starts the next step of a sequence: "then", "and then", "after that", "afterwards",
#: "followed by", "before" (not "before the end": that is timing), and "finally" after a
#: comma or "and". Whole words only, so "then" inside another word never splits.
_STEP_BREAK = re.compile(
    r"(?:\s*[,;.]\s*|\s+)(?:and\s+)?(?:then|after\s+that|afterwards|followed\s+by|"
    r"before(?!\s+(?:the\s+)?(?:very\s+)?(?:end|start|close|finish|beginning|last)\b))\b(?:\s*,)?\s*"
    r"|\s*[,;.]\s*(?:and\s+)?finally\b(?:\s*,)?\s*|\s+and\s+finally\b(?:\s*,)?\s*",
    re.IGNORECASE,
)
_FIRST = re.compile(r"^\s*(?:first(?:ly)?|at first)\b(?:\s*,)?\s*", re.IGNORECASE)
#: A part of a prompt is a step of its own only if a word in it names a motion this
#: strongly (a verb); "then stays" or "then the balloon" stay with the step before.
_STEP_WEIGHT = 2.0


def split_steps(prompt: str) -> list[str]:
    """The steps of a sequence prompt, in order, each as the designer wrote it.

    "wobbles twice, then fades out at the end" -> ["wobbles twice", "fades out at the
    end"]. A part naming no motion ("and then stays", "then at the end") stays with the
    step before it, so it tunes that step as it did before. One element for a prompt with
    one motion.
    """
    text = prompt or ""
    bounds, cursor = [], 0
    for m in _STEP_BREAK.finditer(text):
        bounds.append((cursor, m.start(), m.end()))
        cursor = m.end()
    bounds.append((cursor, len(text), len(text)))
    steps: list[list[int]] = []  # [start, end] of each step in `text`
    pending: int | None = None  # where a leading part without motion starts
    for begin, end, _ in bounds:
        piece = text[begin:end]
        moves = max(_scores(_clean(piece), None)[0].values(), default=0.0) >= _STEP_WEIGHT
        if not moves and steps:
            steps[-1][1] = end
        elif not moves:
            pending = begin if pending is None else pending
        else:
            steps.append([begin if pending is None else pending, end])
            pending = None
    if not steps:
        return [text]
    if pending is not None:
        steps[-1][1] = len(text)
    pieces = [text[begin:end].strip(" ,;.") for begin, end in steps]
    pieces[0] = _FIRST.sub("", pieces[0]) or pieces[0]
    return pieces


def preset_for_prompt(prompt: str, kind: LayerKind | None, full_bleed: bool = False) -> PromptMatch:
    """The preset and parameters a free-text motion prompt asks for.

    Prompts the vocabulary does not recognise get the default for the layer kind (bob for
    text, float otherwise) and a message saying so, with close presets to try; their adverbs
    still apply. `full_bleed` (the layer covers the canvas) swaps a motion that needs room
    for one that moves inside the layer's own frame (engine.motion.presets.stage.is_full_bleed).
    A sequence ("pops in, then floats") is read step by step (split_steps), each step as a
    prompt of its own; the match is its first step, the others are in `then`.
    """
    clauses = split_steps(prompt or "")
    if len(clauses) < 2:
        return _read_clause(prompt, kind, full_bleed)
    texty = bool(_TEXT_NOUNS.search(_clean(prompt)))
    steps = [_read_clause(clause, kind, full_bleed, texty) for clause in clauses]
    message = " ".join(dict.fromkeys(step.message for step in steps if step.message))
    return replace(steps[0], message=message, then=tuple(steps[1:]))


def _read_clause(prompt: str, kind: LayerKind | None, full_bleed: bool, texty: bool = False) -> PromptMatch:
    """One motion's reading (a whole prompt, or one step of a sequence)."""
    text = _clean(prompt or "")
    scores, cues = _scores(text, kind, texty)
    fade, fade_words = _simultaneous_fade(text, scores, cues)
    if fade:
        scores = {name: score for name, score in scores.items() if name != "fade"}
    preset = _best(scores, kind)
    message, suggestions = "", ()
    cue = cues.get(preset, "") if preset else ""
    partner, partner_phase, partner_cue = (_together(text, scores, cues, preset) if preset and not full_bleed
                                           else (None, None, ""))
    # a third motion asked at the same time is still left out, and said so
    left_out = _left_out(text, {n: v for n, v in scores.items() if n != partner}, cues, preset) if preset else None
    if preset is None:
        preset = default_preset(kind, full_bleed)
        shown = (prompt or "").strip()
        suggestions = suggestions_for(shown)
        message = _no_motion_message(shown, preset, suggestions)
    in_place = False
    if full_bleed and preset in _IN_PLACE and _IN_PLACE[preset] != preset:
        preset, in_place = _IN_PLACE[preset], True
    elif full_bleed and preset in _IN_PLACE:
        in_place = True
    found, words = _candidates(text)
    params, said = _tuned(found, words, preset)
    together = None
    if partner is not None:
        params, said, together = _read_pair(text, (preset, cue), (partner, partner_cue), bool(partner_phase))
        if together is None:  # "swims across and spins": a wrap-around cannot turn as one piece
            partner_phase, left_out = None, partner
            params, said = _tuned(found, words, preset)
    needs_generative = False
    if m := _GENERATIVE.search(text):
        needs_generative = True
        message = _generative_message(m.group(0).strip(), preset)
    if left_out:
        rigid_pair = PRESETS[preset].moves_rigidly(params) and PRESETS[left_out].combines
        message = " ".join(filter(None, (message, _left_out_message(left_out, cues, preset, cue, rigid_pair))))
    timing, timing_words = read_timing(prompt, preset, params)
    if partner_phase and timing.phase in (None, partner_phase):
        # "spins in", "pops in while spinning": a loop with an entrance is an entrance
        timing = replace(timing, phase=partner_phase)
        timing_words["timing.phase"] = timing_words.get("timing.phase") or partner_cue
    if fade:  # the motion plays over the fade's span: an exit for a fade out, an entrance for a fade in
        timing = replace(timing, phase=fade)
        timing_words["timing.phase"] = said["fade"] = fade_words
    return PromptMatch(preset, params, message, cue, {**said, **timing_words}, suggestions, in_place,
                       needs_generative, timing=timing, fade=fade, together=together)


#: "spins in", "twirls into place": an entrance in which the layer turns as it grows into
#: place (a spin played with a pop-in); "spins out", "spins away": the exit the other way.
_SPIN_INTO = re.compile(r"\b(spin|spins|spinning|twirl\w*|whirl\w*)( \w+)? (in\b(?! (the|a|an|its|his|her|their|circles?)\b)|"
                        r"into (place|view|position|the (picture|frame|poster))\b)")
_SPIN_AWAY = re.compile(r"\b(spin|spins|spinning|twirl\w*|whirl\w*)( \w+)? (out|away|off)\b(?! of)")

#: Things that suggest a motion without naming one (a balloon floats, a butterfly flutters):
#: they pick a motion for a prompt with no verb, but never add a second one to a verb's.
_THINGS = re.compile("|".join([_WINGED, *(pattern for _, weight, pattern in _VOCABULARY if weight <= 1)]))

#: Words that say which way a motion goes ("shakes up and down") rather than name another.
_MANNER = re.compile(r"up and down|up-and-down|side to side|side-to-side|back and forth|to and fro|left and right")

#: Words of one motion that may tune the other one played with it ("rises slowly and
#: sways": both slowly); a direction, pivot, turn or count belongs to its own motion.
_SHARED_WORDS = ("amplitude", "depth", "squash", "speed", "easing")
#: Words about the whole animation, wherever they stand: a group's ripple ("one after
#: another"), a motion that stays ("and stays").
_WHOLE_PROMPT_WORDS = ("stagger", "loop")


def _together(text: str, scores: dict[str, float], cues: dict[str, str], chosen: str
              ) -> tuple[str | None, str | None, str]:
    """A second motion to play at the same time as `chosen`: (its preset, the phase it
    gives the pair when it is an entrance or exit, its words), or (None, None, "").

    Both must move the layer rigidly (catalog.Preset.combines), come from words of their
    own in another family (a second word of the same look names the same motion), with
    at least a verb's weight, and at most one of them may enter or leave: an entrance with
    an exit is two steps, which the left-out note explains.
    """
    if not PRESETS[chosen].combines:
        return None, None, ""
    if chosen == "spin":
        for pattern, phase in ((_SPIN_INTO, "in"), (_SPIN_AWAY, "out")):
            if m := pattern.search(text):
                return "pop_in", phase, m.group(0).strip()
    chosen_span = _span(text, cues.get(chosen, ""))
    family = _FAMILY.get(chosen, chosen)
    own_phase = PRESETS[chosen].natural_phase({})
    others = {}
    for name, score in scores.items():
        other_phase = PRESETS[name].natural_phase({})
        span = _span(text, cues.get(name, ""))
        if (name == chosen or not PRESETS[name].combines or _FAMILY.get(name, name) == family
                or score < _STEP_WEIGHT or _overlaps(span, chosen_span) or _MANNER.fullmatch(cues.get(name, ""))
                or _THINGS.fullmatch(cues.get(name, ""))
                or any(_overlaps(span, _span(text, cues.get(other, ""))) for other in scores
                       if other != name and scores[other] > score)  # "pops" of "pops in" is the pop-in's
                or "loop" not in (own_phase, other_phase) and own_phase != other_phase):
            continue
        others[name] = score
    partner = _best(others, None)
    if partner is None:
        return None, None, ""
    phase = PRESETS[partner].natural_phase({})
    return partner, (phase if phase != "loop" and own_phase == "loop" else None), cues.get(partner, "")


def _read_pair(text: str, motion: tuple[str, str], partner: tuple[str, str], entrance: bool
               ) -> tuple[dict[str, Any], dict[str, str], "PromptMatch | None"]:
    """The parameters (and their words) of `motion` and the reading of `partner` played
    with it, each (preset, cue) tuned by its own words; None for the partner when these
    settings do not move both rigidly (a travel that wraps around its box)."""
    (preset, cue), (other, other_cue) = motion, partner
    mine, theirs = _own_words(text, cue, other_cue)
    params, said = _tuned(*_shared(mine, theirs), preset)
    other_params, other_said = _tuned(*_shared(theirs, mine), other)
    if entrance or PRESETS[preset].natural_phase(params) != "loop":
        # an entrance or exit plays each motion once over its span (animator.step_plan)
        for settings, spoken in ((params, said), (other_params, other_said)):
            if settings.pop("cycles", None) is not None:
                spoken.pop("cycles", None)
    if not (PRESETS[preset].moves_rigidly(params) and PRESETS[other].moves_rigidly(other_params)):
        return params, said, None
    return params, said, PromptMatch(other, other_params, cue=other_cue, words=other_said)


def _own_words(text: str, cue: str, partner_cue: str) -> tuple[str, str]:
    """The words of each of two motions named in one part: the text up to where the later
    one's words start belongs to the earlier one ("the balloon rises slowly | and sways in
    the wind"). Words that name both ("spins in") leave each the whole part."""
    mine, theirs = _span(text, cue), _span(text, partner_cue)
    if mine[0] < 0 or theirs[0] < 0 or _overlaps(mine, theirs):
        return text, text
    split = max(mine[0], theirs[0])
    first, second = text[:split] + " ", " " + text[split:]
    return (first, second) if mine[0] < theirs[0] else (second, first)


def _shared(own: str, other: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The parameters a motion's own words set; when they say nothing of how strong or
    how fast, the other motion's words for that ("rises slowly and sways": both slowly);
    and words about the whole animation (a group's stagger) wherever they stand."""
    found, words = _candidates(own)
    their_found, their_words = _candidates(other)
    shared = () if any(name in found for name in _SHARED_WORDS) else _SHARED_WORDS  # "bobs gently and spins fast"
    for name in (*shared, *_WHOLE_PROMPT_WORDS):
        if name in their_found and name not in found:
            found[name], words[name] = their_found[name], their_words[name]
    return found, words


#: Motions that already appear or vanish their own way, so a fade with them adds nothing
#: ("flies away and fades out", "appears letter by letter").
_FADES_BY_ITSELF = {"fly_away": ("out",), "typewriter": ("in", "out")}

#: Motions that read as one look: a second word from the same family ("parallax drift",
#: "pops in with a bounce", "the glow shimmers") names the same motion, not another one.
_FAMILY = {
    **dict.fromkeys(("float", "travel", "fly_away", "parallax", "slide_in", "pan", "bob"), "drift"),
    **dict.fromkeys(("sway", "wave_rotate", "flag_wave", "text_wave", "jelly", "ripple"), "sway"),
    **dict.fromkeys(("flicker", "fade", "typewriter", "shimmer", "caustics"), "light"),
    **dict.fromkeys(("zoom", "breathe", "pop_in", "push_in", "bounce"), "size"),
}


def _simultaneous_fade(text: str, scores: dict[str, float], cues: dict[str, str]) -> tuple[str, str]:
    """("in" | "out", its words) when a part names a motion and a fade in or out of it at
    once ("spins while fading out", "floats up and fades out"): the motion plays with the
    fade's opacity ramp. ("", "") otherwise: no fade, a fade alone, "fades in and out"."""
    if "fade" not in scores or not re.search(r"fad|appear|vanish|dissolv", cues.get("fade", "")):
        return "", ""
    found, words = _candidates(text)
    shape = found.get("shape")
    if shape not in ("in", "out"):
        return "", ""
    fade_span = _span(text, cues["fade"])
    others = {name: score for name, score in scores.items()
              if name != "fade" and score >= 3 and not _overlaps(_span(text, cues.get(name, "")), fade_span)}
    motion = _best(others, None)
    if motion is None or shape in _FADES_BY_ITSELF.get(motion, ()):
        return "", ""
    natural = PRESETS[motion].natural_phase({})
    if natural not in ("loop", shape):
        return "", ""  # "pops in and fades out" is two steps: the left-out note says so
    return shape, words["shape"]


def _span(text: str, words: str) -> tuple[int, int]:
    at = text.find(words) if words else -1
    return (at, at + len(words)) if at >= 0 else (-1, -1)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] >= 0 and b[0] >= 0 and a[0] < b[1] and b[0] < a[1]


#: Below this score a second motion is only suggested by a noun, not asked for by a verb.
_ASKED = 4.0


def _left_out(text: str, scores: dict[str, float], cues: dict[str, str], chosen: str) -> str | None:
    """A second motion a part of the prompt asks for at the same time as `chosen` (by a
    verb of its own, not the words that chose `chosen`), which the preset engine cannot
    play with it: the strongest such one, or None."""
    chosen_span = _span(text, cues.get(chosen, ""))
    family = _FAMILY.get(chosen, chosen)
    others = {name: score for name, score in scores.items()
              if _FAMILY.get(name, name) != family and score >= _ASKED
              and not _overlaps(_span(text, cues.get(name, "")), chosen_span)}
    return _best(others, None)


def _left_out_message(other: str, cues: dict[str, str], preset: str, cue: str, rigid_pair: bool = False) -> str:
    """Why `other` was left out: an entrance with an exit (`rigid_pair`), or a motion that
    does not move the layer as one piece; and how to play both."""
    first, second = cue or preset, cues.get(other, other)
    if rigid_pair:
        why = "an entrance and an exit cannot play at the same time"
    else:
        why = ("the preset engine plays two motions at once only when both move the whole layer as one piece "
               "(bob, float, sway, spin, zoom, bounce, ...)")
    return (f"'{second}' asks for {PRESETS[other].label} ('{other}') at the same time as {PRESETS[preset].label} "
            f"('{preset}'); {why}, so '{other}' was left out. Write "
            f"'{first}, then {second}' to play them one after another, or use a generative engine (dmdl or i2v).")


def step_text(prompt: str, preset: str, kind: LayerKind | None = None) -> str:
    """The words that tune a chosen `preset`: the whole prompt, or for a sequence the step
    that reads as that preset (else the first), so "twice" or "at the end" of another step
    does not tune it."""
    clauses = split_steps(prompt or "")
    if len(clauses) < 2:
        return prompt or ""
    texty = bool(_TEXT_NOUNS.search(_clean(prompt)))
    for clause in clauses:
        if _read_clause(clause, kind, False, texty).preset == preset:
            return clause
    return clauses[0]


def explain(prompt: str, preset: str, kind: LayerKind | None = None, full_bleed: bool = False) -> PromptMatch:
    """What a prompt says about a preset that was already chosen (from the menu, or by a
    plan that read the layer as lettering): the parameters its words set, the words that
    set them, and any message the prompt alone would give (no motion word, or a motion
    that needs a generative engine). A sequence only tunes the chosen preset, from its
    own step; the message says the other steps do not play, and how to play them."""
    clauses = split_steps(prompt or "")
    if len(clauses) > 1:
        reading = _explain_one(step_text(prompt, preset, kind), preset, kind, full_bleed)
        note = (f"The prompt names {len(clauses)} steps, but the preset is chosen as '{preset}', so only it "
                f"plays (tuned by '{step_text(prompt, preset, kind)}') and the other steps do not. Set Preset "
                "to Auto to play the steps in order.")
        return replace(reading, message=" ".join(filter(None, (reading.message, note))))
    return _explain_one(prompt, preset, kind, full_bleed)


def _also_at_once(reading: PromptMatch, chosen: str) -> list[str]:
    """The motions the prompt plays together with `chosen` under Auto (a pair, a fade),
    which a chosen preset leaves out; none when `chosen` is not one of them."""
    at_once = [reading.preset] + ([reading.together.preset] if reading.together else [])
    at_once += [f"a fade {reading.fade}"] if reading.fade else []
    if chosen not in at_once:
        return []
    return [f"'{motion}'" if motion in PRESETS else motion for motion in at_once if motion != chosen]


def _explain_one(prompt: str, preset: str, kind: LayerKind | None, full_bleed: bool) -> PromptMatch:
    text = _clean(prompt or "")
    cues: dict[str, str] = {}
    for reading in (None, LayerKind.TEXT, kind):
        cues.update(_scores(text, reading)[1])
    reading = _read_clause(prompt, kind, full_bleed)
    found, words = _candidates(text)
    params, said = _tuned(found, words, preset)
    cue = cues.get(preset, reading.cue if reading.preset == preset else "")
    message, chosen = "", True
    if not reading.cue and reading.suggestions:  # no motion word: the preset is a default
        message, chosen = _no_motion_message((prompt or "").strip(), preset, reading.suggestions), False
    elif m := _GENERATIVE.search(text):
        message = _generative_message(m.group(0).strip(), preset)
    if others := _also_at_once(reading, preset):
        message = " ".join(filter(None, (message, (
            f"The prompt also asks for {' and '.join(others)} at the same time, but the preset is chosen as "
            f"'{preset}', so only it plays. Set Preset to Auto to play them together."))))
    timing, timing_words = read_timing(prompt, preset, params)
    return PromptMatch(preset, params, message, cue, {**said, **timing_words}, reading.suggestions,
                       reading.in_place and reading.preset == preset, reading.needs_generative, chosen=chosen,
                       timing=timing)
