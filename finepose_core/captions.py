"""The describer: words for each body part of a 3D pose sequence, from the pose itself.

    prompts = describe(joints3d, fps=30)           # [F, 17, 3] metres, Human3.6M-17, any right-handed frame
    prompts.parts["arms"].description              # "right arm raised above the head, elbow straight, ..."

FinePOSE conditions each body part on a text. For those texts to carry meaning, training needs words that
are true of each window's motion, and inference needs words that come from the evidence (MediaPipe's own 3D
of the person) or from the user. This module writes such words with rules in the spirit of the "posecode"
approach (PoseScript, ECCV 2022; MotionScript): measurements of the skeleton — angles at joints, heights
over the ground, positions relative to the body, distances — are binned into categories, and categories
into words. Every measurement is taken in the body's own frame (up from the ground, right from the hips,
forward from both), so the words hold from any camera.

Over a window each attribute is described by its most frequent category, and a change from the first
quarter of the window to the last ("raises the right arm", "bends the knees") is said as a motion. With a
seed, the phrasing varies — synonyms, order, and which of the true facts are said — so that a model trained
on these texts learns what the words mean rather than one template; without a seed it is canonical.

The Human3.6M-17 joints carry no nose apart from the head's pivot, so the head's turn about the neck is not
observable here; its tilt is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from finepose_core.model.prompts import PART_KEYS, PartPrompt, Prompts
from finepose_core.skeleton import H36M_INDEX as J

FloatArray = NDArray[np.float64]
SIDES: Final = ("left", "right")
_ARM = {
    "left": (J["LShoulder"], J["LElbow"], J["LWrist"]),
    "right": (J["RShoulder"], J["RElbow"], J["RWrist"]),
}
_LEG = {"left": (J["LHip"], J["LKnee"], J["LAnkle"]), "right": (J["RHip"], J["RKnee"], J["RAnkle"])}

# Bins. Angles in degrees; lengths in units of the person's own limbs, so that they hold for any body.
UPRIGHT_BELOW: Final = 20.0  # trunk's angle from the vertical
BENT_OVER_FROM: Final = 60.0
TWIST_FROM: Final = 30.0  # shoulder line against hip line, about the vertical
HEAD_TILT_FROM: Final = 25.0  # head against the trunk
ELBOW_STRAIGHT_FROM: Final = 150.0  # interior angle
ELBOW_FULLY_BENT_BELOW: Final = 70.0
KNEE_STRAIGHT_FROM: Final = 155.0
KNEE_DEEPLY_BENT_BELOW: Final = 110.0
ARM_OUT_FROM: Final = 0.45  # wrist's offset from the shoulder, in arm lengths, to count as in front / out
ARM_BEHIND_FROM: Final = 0.25
ARM_DOWN_BELOW: Final = -0.45  # wrist height under the shoulder, in arm lengths: under this the arm is down
HANDS_TOGETHER_BELOW: Final = 0.25  # wrists' distance in arm lengths
HAND_NEAR_BELOW: Final = 0.35
FOOT_OFF_FROM: Final = 0.1  # ankle over the ground, in leg lengths
LEG_OUT_FROM: Final = 0.3  # ankle's offset from the hip, in leg lengths, to count as forward / back / out
WIDE_STANCE_FROM: Final = 2.0  # ankles' distance across, in hip widths
CROUCH_BELOW: Final = 0.7  # pelvis over the ground, in leg lengths
KNEELING_BELOW: Final = 0.25  # knee over the ground, in shin lengths
# speed: metres per second of the root, or of the fastest limb relative to the root (scaled: a limb swings
# faster than the body travels)
SLOW_BELOW: Final = 0.5
FAST_FROM: Final = 2.0
LIMB_SHARE: Final = 0.6


@dataclass(frozen=True)
class BodyFrame:
    """Per frame, unit vectors of the body's own frame [F, 3] and the ground's height along `up`."""

    up: FloatArray
    right: FloatArray  # towards the person's right, horizontal
    forward: FloatArray  # where the hips face, horizontal
    ground: float


def _unit(v: FloatArray) -> FloatArray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.asarray(v / np.maximum(norm, 1e-9))


def _angle(a: FloatArray, b: FloatArray) -> FloatArray:
    cos = np.sum(_unit(a) * _unit(b), axis=-1)
    return np.asarray(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def estimate_up(joints: FloatArray) -> FloatArray:
    """The world's up from the body, assuming the person mostly stands: the mean direction of the legs
    (ankles to pelvis) and of the trunk (pelvis to thorax)."""
    ankles = (joints[:, J["LAnkle"]] + joints[:, J["RAnkle"]]) / 2
    legs = _unit(joints[:, J["Hip"]] - ankles)
    trunk = _unit(joints[:, J["Thorax"]] - joints[:, J["Hip"]])
    return _unit(np.mean(legs + trunk, axis=0))


def body_frame(joints: FloatArray, up: FloatArray) -> BodyFrame:
    up = _unit(np.asarray(up, np.float64))
    ups = np.broadcast_to(up, (len(joints), 3)).copy()
    hips = joints[:, J["RHip"]] - joints[:, J["LHip"]]
    shoulders = joints[:, J["RShoulder"]] - joints[:, J["LShoulder"]]
    across = hips + 0.5 * shoulders  # the hips lead; the shoulders steady it when the hips are seen edge-on
    across = across - np.sum(across * ups, axis=-1, keepdims=True) * ups
    right = _unit(across)
    forward = _unit(np.cross(ups, right))
    ankles = np.concatenate([joints[:, J["LAnkle"]] @ up, joints[:, J["RAnkle"]] @ up])
    return BodyFrame(ups, right, forward, float(np.min(ankles)))


@dataclass(frozen=True)
class Facts:
    """Per frame, the category of each attribute (None where nothing is worth saying)."""

    values: dict[str, list[Any]] = field(default_factory=dict)

    def dominant(self, name: str) -> Any:
        counts = Counter(self.values[name])
        return counts.most_common(1)[0][0]

    def change(self, name: str) -> tuple[Any, Any] | None:
        """(before, after) when the first and last quarter of the window disagree, each consistently."""
        seq = self.values[name]
        quarter = max(1, len(seq) // 4)
        if len(seq) < 4:
            return None
        first = Counter(seq[:quarter]).most_common(1)[0]
        last = Counter(seq[-quarter:]).most_common(1)[0]
        if first[0] != last[0] and first[1] == quarter and last[1] == quarter:
            return first[0], last[0]
        return None


def measure(joints3d: NDArray[np.floating[Any]], up: NDArray[np.floating[Any]] | None = None) -> Facts:
    """The categories of every attribute in every frame of `joints3d` [F, 17, 3]."""
    joints = np.asarray(joints3d, np.float64)
    if joints.ndim == 2:
        joints = joints[None]
    if joints.ndim != 3 or joints.shape[1:] != (17, 3) or not np.isfinite(joints).all():
        raise ValueError(f"joints3d must be finite [F, 17, 3], got {joints.shape}")
    frame = body_frame(joints, estimate_up(joints) if up is None else np.asarray(up, np.float64))
    values: dict[str, list[Any]] = {}
    values.update(_torso(joints, frame))
    values.update(_head(joints, frame))
    for side in SIDES:
        values.update(_arm(joints, frame, side))
        values.update(_leg(joints, frame, side))
    values["hands"] = _hands(joints)
    values.update(_stance(joints, frame))
    return Facts(values)


def _height(points: FloatArray, frame: BodyFrame) -> FloatArray:
    return np.asarray(np.sum(points * frame.up, axis=-1) - frame.ground)


def _torso(joints: FloatArray, frame: BodyFrame) -> dict[str, list[Any]]:
    trunk = joints[:, J["Thorax"]] - joints[:, J["Hip"]]
    lean = _angle(trunk, frame.up)
    ahead = np.sum(trunk * frame.forward, axis=-1)
    aside = np.sum(trunk * frame.right, axis=-1)
    torso: list[Any] = []
    for angle, f, r in zip(lean, ahead, aside, strict=True):
        if angle < UPRIGHT_BELOW:
            torso.append("upright")
        elif abs(f) >= abs(r):
            torso.append(("bent over" if angle >= BENT_OVER_FROM else "forward") if f > 0 else "back")
        else:
            torso.append("right" if r > 0 else "left")
    shoulders = joints[:, J["RShoulder"]] - joints[:, J["LShoulder"]]
    shoulders = shoulders - np.sum(shoulders * frame.up, axis=-1, keepdims=True) * frame.up
    turn = np.degrees(
        np.arctan2(
            np.sum(np.cross(frame.right, shoulders) * frame.up, axis=-1),
            np.sum(shoulders * frame.right, axis=-1),
        )
    )
    # positive: the shoulders turned counter-clockwise seen from above, i.e. towards the person's left
    twist = [None if abs(a) < TWIST_FROM else ("left" if a > 0 else "right") for a in turn]
    return {"torso": torso, "twist": twist}


def _head(joints: FloatArray, frame: BodyFrame) -> dict[str, list[Any]]:
    head = joints[:, J["Head"]] - joints[:, J["Thorax"]]
    trunk = joints[:, J["Thorax"]] - joints[:, J["Hip"]]
    tilt = _angle(head, trunk)
    ahead = np.sum((_unit(head) - _unit(trunk)) * frame.forward, axis=-1)
    aside = np.sum((_unit(head) - _unit(trunk)) * frame.right, axis=-1)
    out: list[Any] = []
    for angle, f, r in zip(tilt, ahead, aside, strict=True):
        if angle < HEAD_TILT_FROM:
            out.append(None)
        elif abs(f) >= abs(r):
            out.append("forward" if f > 0 else "back")
        else:
            out.append("right" if r > 0 else "left")
    return {"head": out}


def _interior(a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
    return _angle(a - b, c - b)


def _arm(joints: FloatArray, frame: BodyFrame, side: str) -> dict[str, list[Any]]:
    shoulder, elbow, wrist = (joints[:, i] for i in _ARM[side])
    length = np.median(np.linalg.norm(elbow - shoulder, axis=-1) + np.linalg.norm(wrist - elbow, axis=-1))
    offset = (wrist - shoulder) / length
    rise = np.sum(offset * frame.up, axis=-1)
    top = np.sum((joints[:, J["Head"]] - shoulder) * frame.up, axis=-1) / length
    outward = frame.right if side == "right" else -frame.right
    ahead = np.sum(offset * frame.forward, axis=-1)
    out = np.sum(offset * outward, axis=-1)
    height = [
        "overhead" if r > t else ("shoulder" if r > ARM_DOWN_BELOW else "down")
        for r, t in zip(rise, top, strict=True)
    ]
    direction: list[Any] = []
    for f, o in zip(ahead, out, strict=True):
        if f > ARM_OUT_FROM and f >= o:
            direction.append("front")
        elif o > ARM_OUT_FROM:
            direction.append("side")
        elif f < -ARM_BEHIND_FROM:
            direction.append("behind")
        else:
            direction.append(None)
    bend = _interior(shoulder, elbow, wrist)
    elbow_words = [
        "straight" if a >= ELBOW_STRAIGHT_FROM else ("bent" if a >= ELBOW_FULLY_BENT_BELOW else "fully bent")
        for a in bend
    ]
    head_centre = (joints[:, J["Head"]] + joints[:, J["Neck/Nose"]]) / 2
    hip = joints[:, J["RHip"] if side == "right" else J["LHip"]]
    near: list[Any] = []
    for w, h, p, a in zip(wrist, head_centre, hip, bend, strict=True):
        if np.linalg.norm(w - h) / length < HAND_NEAR_BELOW:
            near.append("head")
        elif np.linalg.norm(w - p) / length < HAND_NEAR_BELOW and a < ELBOW_STRAIGHT_FROM:
            near.append("hip")  # a hanging straight arm's hand is beside the hip anyway: not worth saying
        else:
            near.append(None)
    return {
        f"{side} arm": height,
        f"{side} arm direction": direction,
        f"{side} elbow": elbow_words,
        f"{side} hand": near,
    }


def _leg(joints: FloatArray, frame: BodyFrame, side: str) -> dict[str, list[Any]]:
    hip, knee, ankle = (joints[:, i] for i in _LEG[side])
    thigh = np.linalg.norm(knee - hip, axis=-1)
    shin = np.linalg.norm(ankle - knee, axis=-1)
    length = float(np.median(thigh + shin))
    bend = _interior(hip, knee, ankle)
    knee_words = [
        "straight" if a >= KNEE_STRAIGHT_FROM else ("bent" if a >= KNEE_DEEPLY_BENT_BELOW else "deeply bent")
        for a in bend
    ]
    lifted = _height(ankle, frame) / length > FOOT_OFF_FROM
    offset = (ankle - hip) / length
    ahead = np.sum(offset * frame.forward, axis=-1)
    outward = frame.right if side == "right" else -frame.right
    out = np.sum(offset * outward, axis=-1)
    place: list[Any] = []
    for f, o in zip(ahead, out, strict=True):
        if abs(f) > LEG_OUT_FROM and abs(f) >= o:
            place.append("forward" if f > 0 else "back")
        elif o > LEG_OUT_FROM:
            place.append("out")
        else:
            place.append(None)
    kneeling = _height(knee, frame) / np.median(shin) < KNEELING_BELOW
    return {
        f"{side} knee": knee_words,
        f"{side} foot": ["off" if x else None for x in lifted],
        f"{side} leg": place,
        f"{side} kneel": list(kneeling),
    }


def _hands(joints: FloatArray) -> list[Any]:
    arm = np.median(
        np.linalg.norm(joints[:, J["LElbow"]] - joints[:, J["LShoulder"]], axis=-1)
        + np.linalg.norm(joints[:, J["LWrist"]] - joints[:, J["LElbow"]], axis=-1)
    )
    gap = np.linalg.norm(joints[:, J["LWrist"]] - joints[:, J["RWrist"]], axis=-1) / arm
    return ["together" if g < HANDS_TOGETHER_BELOW else None for g in gap]


def _stance(joints: FloatArray, frame: BodyFrame) -> dict[str, list[Any]]:
    legs = np.median(
        np.linalg.norm(joints[:, J["LKnee"]] - joints[:, J["LHip"]], axis=-1)
        + np.linalg.norm(joints[:, J["LAnkle"]] - joints[:, J["LKnee"]], axis=-1)
    )
    pelvis = _height(joints[:, J["Hip"]], frame) / legs
    knees = np.minimum(
        _interior(joints[:, J["LHip"]], joints[:, J["LKnee"]], joints[:, J["LAnkle"]]),
        _interior(joints[:, J["RHip"]], joints[:, J["RKnee"]], joints[:, J["RAnkle"]]),
    )
    shin = np.median(np.linalg.norm(joints[:, J["LAnkle"]] - joints[:, J["LKnee"]], axis=-1))
    knee_low = np.minimum(_height(joints[:, J["LKnee"]], frame), _height(joints[:, J["RKnee"]], frame)) / shin
    hips = np.median(np.linalg.norm(joints[:, J["RHip"]] - joints[:, J["LHip"]], axis=-1))
    feet = joints[:, J["RAnkle"]] - joints[:, J["LAnkle"]]
    across = np.abs(np.sum(feet * frame.right, axis=-1)) / hips
    stance: list[Any] = []
    for p, k, low in zip(pelvis, knees, knee_low, strict=True):
        if low < KNEELING_BELOW and p > 0.5:
            stance.append("kneeling")
        elif p < CROUCH_BELOW and k < KNEE_STRAIGHT_FROM - 30:
            stance.append("crouching")
        else:
            stance.append(None)
    return {"stance": stance, "wide": ["wide" if a > WIDE_STANCE_FROM else None for a in across]}


def speed_class(joints3d: NDArray[np.floating[Any]], fps: float) -> str:
    """slow | normal | fast, from how fast the body travels or, in place, how fast its limbs move."""
    joints = np.asarray(joints3d, np.float64)
    if len(joints) < 2 or fps <= 0:
        return "normal"
    root = np.linalg.norm(np.diff(joints[:, J["Hip"]], axis=0), axis=-1) * fps
    relative = joints - joints[:, J["Hip"] : J["Hip"] + 1]
    limbs = [J["LWrist"], J["RWrist"], J["LAnkle"], J["RAnkle"]]
    limb = np.linalg.norm(np.diff(relative[:, limbs], axis=0), axis=-1) * fps  # [F-1, 4]
    value = max(float(np.median(root)), LIMB_SHARE * float(np.max(np.percentile(limb, 75, axis=0))))
    if value < SLOW_BELOW:
        return "slow"
    return "fast" if value >= FAST_FROM else "normal"


# ---------------------------------------------------------------------------------------------- words
Chooser = Callable[[Sequence[str]], str]

_TORSO = {
    "upright": ["upright torso", "torso upright", "back straight"],
    "forward": ["leaning forward", "torso leaning forward", "upper body tilted forward"],
    "bent over": ["bent over", "bending over at the waist", "torso bent far forward"],
    "back": ["leaning back", "torso leaning backward"],
    "left": ["leaning to the left", "torso tilted to the left"],
    "right": ["leaning to the right", "torso tilted to the right"],
}
_TWIST = {
    "left": ["shoulders turned to the left", "torso twisted left"],
    "right": ["shoulders turned to the right", "torso twisted right"],
}
_STANCE = {
    "kneeling": ["kneeling", "down on the knees"],
    "crouching": ["crouching", "squatting low", "in a crouch"],
}
_HEAD = {
    "forward": ["head tilted forward", "looking down", "head bowed"],
    "back": ["head tilted back", "looking up"],
    "left": ["head tilted to the left"],
    "right": ["head tilted to the right"],
}
_ARM_HEIGHT = {
    "overhead": ["{s} arm raised above the head", "{s} arm up overhead", "{s} hand above the head"],
    "shoulder": ["{s} arm raised to shoulder height", "{s} arm lifted level with the shoulder"],
    "down": ["{s} arm down", "{s} arm lowered"],
}
_ARM_DIRECTION = {
    "front": ["{s} arm in front of the body", "{s} arm reaching forward"],
    "side": ["{s} arm out to the side", "{s} arm stretched sideways"],
    "behind": ["{s} arm behind the body", "{s} arm reaching back"],
}
_ELBOW = {
    "straight": ["{s} elbow straight", "{s} arm straight"],
    "bent": ["{s} elbow bent", "{s} arm bent at the elbow"],
    "fully bent": ["{s} elbow fully bent", "{s} arm tightly folded"],
}
_HAND = {
    "head": ["{s} hand near the head", "{s} hand by the face"],
    "hip": ["{s} hand on the hip", "{s} hand at the hip"],
}
_KNEE = {
    "straight": ["{s} knee straight", "{s} leg straight"],
    "bent": ["{s} knee bent", "{s} leg bent at the knee"],
    "deeply bent": ["{s} knee deeply bent", "{s} leg sharply bent"],
}
_LEG_PLACE = {
    "forward": ["{s} leg forward", "{s} foot stepped forward"],
    "back": ["{s} leg back", "{s} foot behind"],
    "out": ["{s} leg out to the side", "{s} foot placed wide"],
}
_FOOT = {"off": ["{s} foot off the ground", "{s} foot lifted"]}
_MOVES = {
    ("down", "overhead"): ["raises the {s} arm overhead", "lifts the {s} arm up"],
    ("down", "shoulder"): ["raises the {s} arm", "lifts the {s} arm"],
    ("overhead", "down"): ["lowers the {s} arm", "brings the {s} arm down"],
    ("shoulder", "down"): ["lowers the {s} arm", "drops the {s} arm"],
    ("straight", "deeply bent"): ["bends the {s} knee", "sinks on the {s} leg"],
    ("deeply bent", "straight"): ["straightens the {s} knee", "stands up on the {s} leg"],
    ("upright", "bent over"): ["bends over", "bends forward at the waist"],
    ("bent over", "upright"): ["straightens up", "stands back up"],
    (None, "crouching"): ["crouches down", "squats down"],
    ("crouching", None): ["rises from a crouch", "stands up"],
}


def _phrases(facts: Facts, choose: Chooser) -> dict[str, list[str]]:
    parts: dict[str, list[str]] = {"head": [], "body": [], "arms": [], "legs": []}

    def say(part: str, table: dict[Any, list[str]], key: Any, side: str = "") -> None:
        if key in table:
            parts[part].append(choose(table[key]).format(s=side))

    say("body", _STANCE, facts.dominant("stance"))
    say("body", _TORSO, facts.dominant("torso"))
    say("body", _TWIST, facts.dominant("twist"))
    say("head", _HEAD, facts.dominant("head"))
    if facts.dominant("hands") == "together":
        parts["arms"].append(choose(["hands together", "hands joined", "both hands close together"]))
    for side in SIDES:
        say("arms", _ARM_HEIGHT, facts.dominant(f"{side} arm"), side)
        say("arms", _ARM_DIRECTION, facts.dominant(f"{side} arm direction"), side)
        say("arms", _ELBOW, facts.dominant(f"{side} elbow"), side)
        say("arms", _HAND, facts.dominant(f"{side} hand"), side)
        say("legs", _KNEE, facts.dominant(f"{side} knee"), side)
        say("legs", _LEG_PLACE, facts.dominant(f"{side} leg"), side)
        say("legs", _FOOT, facts.dominant(f"{side} foot"), side)
    if facts.dominant("wide") == "wide":
        parts["legs"].append(choose(["wide stance", "feet wide apart"]))
    for name, part, side in (
        ("left arm", "arms", "left"),
        ("right arm", "arms", "right"),
        ("left knee", "legs", "left"),
        ("right knee", "legs", "right"),
        ("torso", "body", ""),
        ("stance", "body", ""),
    ):
        change = facts.change(name)
        if change is not None and change in _MOVES:
            parts[part].append(choose(_MOVES[change]).format(s=side))
    return parts


def caption(facts: Facts, seed: int | None = None) -> dict[str, str]:
    """Each part's description from the facts: canonical without a seed, varied with one (synonyms,
    order, and a random subset of at least half of the true facts)."""
    rng = None if seed is None else np.random.default_rng(seed)

    def choose(options: Sequence[str]) -> str:
        return options[0] if rng is None else options[int(rng.integers(len(options)))]

    texts = {}
    for part, phrases in _phrases(facts, choose).items():
        if rng is not None and len(phrases) > 1:
            keep = int(rng.integers((len(phrases) + 1) // 2, len(phrases) + 1))
            chosen = rng.permutation(len(phrases))[:keep]
            if rng.random() < 0.5:  # half the time in the canonical order, half shuffled
                chosen = np.sort(chosen)
            phrases = [phrases[i] for i in chosen]
        texts[part] = ", ".join(phrases)
    return texts


def describe(
    joints3d: NDArray[np.floating[Any]],
    fps: float,
    up: NDArray[np.floating[Any]] | None = None,
    seed: int | None = None,
) -> Prompts:
    """Prompts with the speed and the four part descriptions of a pose sequence [F, 17, 3] (metres, any
    right-handed frame); `up` is the world's up in that frame (None: estimated from the body). The action
    is left empty: a pose does not say what the person is doing."""
    facts = measure(joints3d, up)
    texts = caption(facts, seed)
    parts = {part: PartPrompt(text) for part, text in texts.items() if text}
    return Prompts(action="", speed=speed_class(joints3d, fps), parts=parts)


# A window is described only when the person's 3D is known in enough of its frames.
DESCRIBED_SHARE_FROM: Final = 0.5
# ... and a part only where the 2D detector saw the joints that carry its words (the wrists and elbows
# for the arms, say) with this mean confidence over the window: a hidden limb's 3D is the detector's
# guess, and words about a guess tell the lifter nothing the image holds.
EVIDENCE_CONFIDENCE: Final = 0.5
EVIDENCE_JOINTS: Final = {
    "head": (J["Neck/Nose"], J["Head"]),
    "body": (J["LHip"], J["RHip"], J["LShoulder"], J["RShoulder"]),
    "arms": (J["LElbow"], J["LWrist"], J["RElbow"], J["RWrist"]),
    "legs": (J["LKnee"], J["LAnkle"], J["RKnee"], J["RAnkle"]),
}


def with_described_parts(
    prompts: Prompts,
    joints3d: NDArray[np.floating[Any]] | None,
    fps: float,
    up: NDArray[np.floating[Any]] | None = None,
    confidence: NDArray[np.floating[Any]] | None = None,
) -> tuple[Prompts, dict[str, str]]:
    """`prompts` with the parts the user left without words described from `joints3d` [F, 17, 3] (NaN
    where unknown), and where each part's words came from: "user", "auto" or "none". With the 2D
    detector's `confidence` [F, 17], a part whose joints it hardly saw stays without words. A part keeps
    its strength whatever its words' source."""
    sources = {p: "user" if prompts.part(p).description.strip() else "none" for p in PART_KEYS}
    if joints3d is None or prompts.off:
        return prompts, sources
    joints = np.asarray(joints3d, np.float64)
    seen = np.isfinite(joints).all(axis=(1, 2))
    if seen.sum() < max(2, DESCRIBED_SHARE_FROM * len(joints)):
        return prompts, sources
    words = describe(joints[seen], fps, up)
    seen = None if confidence is None else np.nan_to_num(np.asarray(confidence, np.float64))
    parts = dict(prompts.parts)
    for part in PART_KEYS:
        text = words.part(part).description
        if seen is not None and float(seen[:, list(EVIDENCE_JOINTS[part])].mean()) < EVIDENCE_CONFIDENCE:
            continue
        if sources[part] == "none" and text:
            parts[part] = PartPrompt(text, prompts.part(part).strength)
            sources[part] = "auto"
    return replace(prompts, parts=parts), sources
