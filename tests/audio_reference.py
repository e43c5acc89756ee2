"""Forced alignments of the example clips' known transcripts: the ground truth the speech stage
is measured against. Made with pocketsphinx 5.1.1 (en-us model, cmudict, bestpath=False,
set_align_text + set_alignment) from the transcripts in examples/*.txt. Times in 10 ms frames."""

from __future__ import annotations

SPEECH_WAV = (
    "SIL:0-20 AE:20-31 N:31-34 D:34-37 M:37-41 IH:41-44 S:44-51 T:51-58 ER:58-63 JH:63-78 AA:78-92 N:92-98 "
    "D:98-107 AE:107-122 SH:122-133 W:133-146 UH:146-152 D:152-158 HH:158-168 AE:168-176 D:176-184 "
    "DH:184-189 EH:189-201 N:201-221 SIL:221-225 L:225-238 IY:238-247 ZH:247-260 ER:260-271 T:271-283 "
    "AH:283-289 K:289-298 AH:298-302 N:302-307 S:307-321 IH:321-327 D:327-331 ER:331-344 HH:344-356 "
    "AW:356-395 SIL:395-400 M:400-410 AH:410-416 CH:416-433 DH:433-442 EH:442-447 R:447-452 M:452-462 "
    "AY:462-471 T:471-479 B:479-484 IY:484-494 P:494-505 R:505-512 UW:512-517 D:517-520 AH:520-523 "
    "N:523-526 T:526-530 L:530-537 IY:537-546 IH:546-552 N:552-557 HH:557-560 IH:560-565 Z:565-575 "
    "P:575-580 AW:580-593 ER:593-604 T:604-608 IH:608-614 D:614-622 UW:622-635 F:635-649 AO:649-657 "
    "R:657-661 DH:661-666 AH:666-673 M:673-679 SIL:679-709"
)

SPEECH_SHORT_WAV = (
    "SIL:0-22 HH:22-27 IY:27-33 W:33-41 AH:41-45 Z:45-56 N:56-61 AA:61-86 T:86-98 SIL:98-113 AH:113-123 "
    "N:123-130 IH:130-135 L:135-148 D:148-151 IH:151-154 S:154-167 P:167-175 OW:175-197 Z:197-205 "
    "D:205-211 Y:211-218 AH:218-224 NG:224-233 M:233-243 AE:243-262 N:262-274 SIL:274-298"
)


def parse(alignment: str) -> list[tuple[str, int, int]]:
    """[(phone, start_frame, end_frame)] of an alignment string."""
    out = []
    for item in alignment.split():
        label, span = item.split(":")
        start, end = span.split("-")
        out.append((label, int(start), int(end)))
    return out
