"""Rigid head rotation (2.5D) and the small torso motions (sway, breath) and camera zoom.

Head: every mesh vertex has a depth (face-mesh z for landmarks, blended towards the head's
pivot depth for the rings round the face), so a small 3-D rotation about the pivot between the
ears moves near parts (nose) more than far parts (cheek edges, hair outline) - the parallax
that makes a turn read as 3-D - and orthographic projection keeps the maths linear. Each
vertex then takes the rotation in proportion to its head weight, so hair and neck follow with
falloff and the shoulders stay. Roll pivots lower, at the neck, as a head tilts on its neck.

Torso: sway and breath are small displacement fields over the person mask, blurred so that the
person's outline stretches gently into the background; both vanish exactly on background far
from the person. The head rides on the torso (the rings round the face take these too).
"""

from __future__ import annotations

import cv2
import numpy as np

# Breath raises chest and shoulders by this fraction of the frame height at breath = 1.
_BREATH_RISE = 0.004
# Blur of the person mask (fraction of frame height) that spreads torso motion into its outline.
_BODY_BLUR = 0.02
# Below this blurred-mask value, torso motion is exactly zero (background stays identical).
_BODY_FLOOR = 0.03


def rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """3x3 rotations (image axes: x right, y down, z away from the camera) for yaw and pitch
    (applied first, about the head pivot) and for roll (about the neck)."""
    yaw, pitch, roll = np.radians([yaw_deg, pitch_deg, roll_deg])
    # + yaw turns the face to the image's right: near points (z < 0) move to +x.
    r_yaw = np.array([[np.cos(yaw), 0, -np.sin(yaw)], [0, 1, 0], [np.sin(yaw), 0, np.cos(yaw)]])
    # + pitch lifts the chin: near points move up (-y).
    r_pitch = np.array([[1, 0, 0], [0, np.cos(pitch), np.sin(pitch)], [0, -np.sin(pitch), np.cos(pitch)]])
    # + roll is clockwise in the image (y down).
    r_roll = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    return r_yaw @ r_pitch, r_roll


def head_displacement(
    points: np.ndarray,
    weight: np.ndarray,
    pivot: np.ndarray,
    neck: np.ndarray,
    angles: tuple[float, float, float],
) -> np.ndarray:
    """(n, 2) image displacement of mesh vertices for head (yaw, pitch, roll) in degrees.
    points: (n, 3) px; weight: (n,) 0..1; pivot, neck: (3,) rotation centres."""
    if not any(angles):
        return np.zeros((len(points), 2), np.float32)
    turn, roll = rotation(*angles)
    moved = (points - pivot) @ turn.T + pivot
    moved = (moved - neck) @ roll.T + neck
    return (weight[:, None] * (moved[:, :2] - points[:, :2])).astype(np.float32)


def body_weights(person: np.ndarray, chin_y: float, face_height: float) -> tuple[np.ndarray, np.ndarray]:
    """Sway and breath weight maps, (H, W) float32 0..1 each.

    Sway grows from the frame's bottom (hips, pivot) to the shoulders; breath peaks at the
    shoulders and fades down the chest. Both are 1 on the head, which rides on the torso.
    """
    height = person.shape[0]
    sigma = max(1.0, _BODY_BLUR * height)
    soft = cv2.GaussianBlur(person.astype(np.float32), (0, 0), sigma)
    soft = np.clip((soft - _BODY_FLOOR) / (1 - _BODY_FLOOR), 0, 1)
    ys = np.arange(height, dtype=np.float32)[:, None]
    shoulders = chin_y + 0.5 * face_height
    sway = np.clip((height - ys) / max(height - shoulders, 1.0), 0, 1)
    breath = np.where(
        ys <= shoulders, 1.0, np.clip(1 - 0.7 * (ys - shoulders) / max(height - shoulders, 1.0), 0, 1)
    )
    return (soft * sway).astype(np.float32), (soft * breath).astype(np.float32)


def body_displacement(
    sway_px: float, breath: float, height: int, sway_w: np.ndarray, breath_w: np.ndarray
) -> np.ndarray:
    """(..., 2) forward displacement from weight samples (same shape as sway_w / breath_w).
    sway_px is in pixels at 1080p (scaled to this frame's height)."""
    dx = (sway_px * height / 1080.0) * sway_w
    dy = (-_BREATH_RISE * height * breath) * breath_w
    return np.stack([dx, dy], axis=-1).astype(np.float32)


def subtract_body_displacement(
    points: np.ndarray, sway_px: float, breath: float, height: int, sway_w: np.ndarray, breath_w: np.ndarray
) -> None:
    """points -= body_displacement(...), in place on (..., 2) float32 points: the same numbers
    without the (..., 2) temporaries (this runs on every grid point of the frame)."""
    points[..., 0] -= np.float32(sway_px * height / 1080.0) * sway_w
    points[..., 1] -= np.float32(-_BREATH_RISE * height * breath) * breath_w
