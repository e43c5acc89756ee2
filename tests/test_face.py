"""Portrait analysis: finding the speaking face, its mesh, masks and what its mouth shows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from talkies import face
from talkies.errors import FaceTooSmallError, InvalidImageError, InvalidMaskError, NoFaceError
from talkies.face import topology
from talkies.tracks import PortraitRig

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_portrait(examples, size: int) -> np.ndarray:
    img = Image.open(examples / "portrait.png").convert("RGB")
    return np.asarray(img.resize((size, size), Image.LANCZOS))


@pytest.fixture(scope="module")
def rig() -> PortraitRig:
    return face.analyze_portrait(load_portrait(EXAMPLES, 384))


def test_tessellation_is_a_clean_triangle_mesh() -> None:
    tris = topology.mesh_triangles()
    assert tris.shape == (852, 3)
    assert set(np.unique(tris)) == set(range(468))
    edges = np.sort(np.vstack([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [0, 2]]]), axis=1)
    _, uses = np.unique(edges, axis=0, return_counts=True)
    assert uses.max() == 2  # a surface: no edge borders three triangles


def test_face_oval_is_one_closed_loop() -> None:
    oval = topology.face_oval()
    assert len(oval) == len(set(oval)) == 36
    assert oval[0] == topology.FOREHEAD_TOP and topology.CHIN in oval


def test_blank_image_has_no_face() -> None:
    with pytest.raises(NoFaceError, match=r"no face found in the image \(320x240\)"):
        face.analyze_portrait(np.full((240, 320, 3), 128, np.uint8))


def test_tiny_face_is_too_small(examples) -> None:
    canvas = np.full((720, 720, 3), 235, np.uint8)
    canvas[320:400, 320:400] = load_portrait(examples, 80)
    with pytest.raises(FaceTooSmallError, match=rf"\d+ px across .* at least {face.MIN_FACE_PX} px"):
        face.analyze_portrait(canvas)


@pytest.mark.parametrize("bad", [np.zeros((64, 64), np.uint8), np.zeros((64, 64, 3), np.float32)])
def test_not_an_rgb_image(bad) -> None:
    with pytest.raises(InvalidImageError, match="uint8 RGB"):
        face.analyze_portrait(bad)


def test_rig_of_the_sample_portrait(rig: PortraitRig) -> None:
    height, width = rig.image.shape[:2]
    assert rig.landmarks.shape == (478, 3) and rig.landmarks.dtype == np.float32
    xy = rig.landmarks[:, :2]
    assert (xy >= 0).all() and (xy[:, 0] < width).all() and (xy[:, 1] < height).all()
    # The subject's right eye (landmark 33, iris 468) is on the image's left.
    assert rig.landmarks[33, 0] < rig.landmarks[263, 0]
    assert rig.other_faces == ()
    assert rig.person_mask.shape == (height, width) and rig.person_mask.dtype == np.float32
    assert rig.person_mask.min() >= 0 and rig.person_mask.max() <= 1
    assert rig.person_mask[int(xy[1, 1]), int(xy[1, 0])] > 0.9  # the nose is on the person
    assert rig.person_mask[5, 5] < 0.1  # the flag's corner is background


def test_rig_carries_the_renderers_precomputation_in_typed_fields(rig: PortraitRig) -> None:
    height, width = rig.image.shape[:2]
    for name in ("face", "lips", "inner_mouth", "eyes", "head", "teeth"):
        mask = rig.masks[name]
        assert mask.shape == (height, width) and mask.dtype == np.uint8 and mask.max() > 0, name
    assert rig.mouth is not None and rig.mouth.teeth_visible  # the sample smiles showing teeth
    assert rig.mouth.aperture_px > 2
    assert 25 < rig.iod_px < 45  # the face is about 80 px wide at 384 px
    x0, y0, x1, y1 = rig.roi
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    mesh = rig.mesh
    assert mesh is not None
    assert len(mesh.points) == 478 + 5 * 36 + len(mesh.copies_of)
    assert mesh.triangles.min() >= 0 and mesh.triangles.max() < len(mesh.points)
    assert np.all(mesh.head_weight[:478] == 1) and np.all(mesh.head_weight[mesh.outer_ring] == 0)


def test_closed_mouth_shows_no_teeth(rig: PortraitRig) -> None:
    """A photo with lips together: paint the opening over with lip colour."""
    image = rig.image.copy()
    inner = rig.masks["inner_mouth"] > 0
    image[inner] = np.median(image[rig.masks["lips"] > 127], axis=0)
    facts = face.regions.mouth_facts(
        rig.landmarks, face.regions.region_masks(image, rig.landmarks, rig.person_mask)
    )
    assert not facts.teeth_visible


def two_people(examples) -> np.ndarray:
    """The portrait twice, large on the left and small on the right, on a grey canvas."""
    canvas = np.full((400, 720, 3), 200, np.uint8)
    canvas[20:380, 10:370] = load_portrait(examples, 360)
    canvas[100:340, 440:680] = load_portrait(examples, 240)
    return canvas


def test_largest_face_speaks_by_default(examples) -> None:
    rig = face.analyze_portrait(two_people(examples))
    assert rig.landmarks[1, 0] < 360 and len(rig.other_faces) == 1
    assert rig.other_faces[0][1, 0] > 440


def test_mask_picks_the_speaker(examples) -> None:
    mask = np.zeros((100, 180), np.float32)  # any size: it is resized to the image
    mask[:, 110:] = 1.0
    rig = face.analyze_portrait(two_people(examples), mask)
    assert rig.landmarks[1, 0] > 440


def test_mask_that_covers_no_face(examples) -> None:
    mask = np.zeros((400, 720), np.float32)
    mask[350:, :50] = 1.0
    with pytest.raises(InvalidMaskError, match="covers at most 0% of any face"):
        face.analyze_portrait(two_people(examples), mask)


def test_the_log_line_says_how_many_faces_which_speaks_and_how_to_pick_another(examples) -> None:
    note = face.analyze_portrait(two_people(examples)).faces_note
    assert note.startswith("2 faces found; the one at (")
    assert "speaks (the largest; a mask (--mask or mask_url) picks another)" in note


def jacket_with_a_face_shaped_fit(examples) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The portrait beside a dark, grainy jacket, the face's landmarks, and the same landmarks
    moved onto the jacket: what the face mesh fits to a button the detector took for a face."""
    rng = np.random.default_rng(3)
    canvas = np.zeros((400, 760, 3), np.uint8)
    canvas[20:380, 10:370] = load_portrait(examples, 360)
    jacket = 48 + 10 * rng.standard_normal((360, 360, 1)) + np.float32([0, 2, 8])
    canvas[20:380, 390:750] = np.clip(jacket, 0, 255).astype(np.uint8)
    real = face.analyze_portrait(canvas).landmarks
    phantom = real.copy()
    phantom[:, 0] += 380
    return canvas, real, phantom


def test_a_detection_whose_eyes_are_not_darker_than_its_skin_is_not_a_face(examples, monkeypatch) -> None:
    # On f0d20c1 every detection the face mesh measured became a face: a jacket button and a
    # silver ice bucket were kept as extra (silent) faces in package test photos.
    canvas, real, phantom = jacket_with_a_face_shaped_fit(examples)
    found = face.detect.Search([real, phantom], [])
    monkeypatch.setattr(face, "find_faces", lambda image, search_all=False: found)
    rig = face.analyze_portrait(canvas)
    assert np.allclose(rig.landmarks, real) and rig.other_faces == ()
    assert "not taken for faces: at (" in rig.faces_note
    assert "its eyes are not darker than its skin" in rig.faces_note


def test_only_phantoms_is_no_face(examples, monkeypatch) -> None:
    canvas, _, phantom = jacket_with_a_face_shaped_fit(examples)
    monkeypatch.setattr(face, "find_faces", lambda image, search_all=False: face.detect.Search([phantom], []))
    with pytest.raises(NoFaceError, match="1 face-like detection"):
        face.analyze_portrait(canvas)
