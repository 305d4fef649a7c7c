"""A/V offset at an RTP receiver (ffmpeg), from a testsrc lobby's marks.

A testsrc lobby with audio beeps for the first 100 ms of every second of
running time and, at the same instants, paints the bottom eighth of the
picture white (issue 12, design section 2). ffmpeg plays the session's SDP
with -copyts, so after the first RTCP sender reports the audio and video
pts share one timeline; the offset of each beep onset from the nearest
flash onset is the A/V offset a player shows (positive: audio late).

    measure(sdp_text, seconds) -> {"offsets_ms": [...], "median": ms, "p90": ms,
                                   "video_onsets": n, "audio_onsets": n}

Used by tests/integration/test_audio_avsync.py and bench/audio. Also a
command: python3 avsync.py SESSION.sdp [SECONDS]."""
import os
import re
import subprocess
import sys
import tempfile

# A video frame is "flashed" when the band's mean luma is above this (the
# flash is Y=235, the test pattern below it is darker on average).
VIDEO_THRESHOLD = 200.0
# A 5 ms audio window is "on" when its RMS is above this (the beep is about
# -9 dBFS, silence is -inf).
AUDIO_THRESHOLD_DB = -30.0
# ffmpeg aligns the streams only once both have had an SR.
SKIP_FIRST_S = 2.0
# A beep pairs with a flash at most this far away.
PAIR_WINDOW_S = 0.5


def _rows(path, key):
    """(pts_time, value) for each frame/window that ffmpeg's metadata filter printed."""
    out = []
    t = None
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            m = re.search(r"pts_time:([-\d.]+)", line)
            if m:
                t = float(m.group(1))
                continue
            m = re.search(re.escape(key) + r"=([-\w.]+)", line)
            if m and t is not None:
                v = m.group(1)
                out.append((t, -200.0 if v in ("-inf", "inf", "nan") else float(v)))
    return out


def onsets(rows, threshold):
    """Times at which the value goes above @threshold after being at or below it."""
    times = []
    prev = True  # a mark already on at the start is not an onset
    for t, v in rows:
        on = v > threshold
        if on and not prev:
            times.append(t)
        prev = on
    return times


def pair(audio_onsets, video_onsets, window=PAIR_WINDOW_S):
    """audio - video (s) for each audio onset with a video onset within @window."""
    out = []
    for a in audio_onsets:
        if not video_onsets:
            break
        v = min(video_onsets, key=lambda x: abs(x - a))
        if abs(v - a) < window:
            out.append(a - v)
    return out


def _percentile(values, q):
    s = sorted(values)
    if not s:
        return None
    i = min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))
    return s[i]


def analyse(video_rows, audio_rows):
    """The offsets from ffmpeg's printed rows, first SKIP_FIRST_S seconds dropped."""
    start = min([r[0] for r in video_rows[:1]] + [r[0] for r in audio_rows[:1]] or [0.0])
    vo = [t for t in onsets(video_rows, VIDEO_THRESHOLD) if t - start >= SKIP_FIRST_S]
    ao = [t for t in onsets(audio_rows, AUDIO_THRESHOLD_DB) if t - start >= SKIP_FIRST_S]
    offsets = [d * 1000.0 for d in pair(ao, vo)]
    return {
        "offsets_ms": [round(x, 1) for x in offsets],
        "median": _percentile(offsets, 0.5),
        "p90": _percentile([abs(x) for x in offsets], 0.9),
        "max_abs": max((abs(x) for x in offsets), default=None),
        "video_onsets": len(vo),
        "audio_onsets": len(ao),
        "video_frames": len(video_rows),
        "audio_windows": len(audio_rows),
    }


def measure(sdp_text, seconds=20, timeout=None):
    """Plays @sdp_text for @seconds with ffmpeg and measures the offsets."""
    tmp = tempfile.mkdtemp(prefix="avsync-")
    sdp = os.path.join(tmp, "session.sdp")
    vtxt = os.path.join(tmp, "v.txt")
    atxt = os.path.join(tmp, "a.txt")
    with open(sdp, "w") as f:
        f.write(sdp_text)
    graph = ("[0:v]crop=iw:ih/8:0:ih*7/8,signalstats,"
             "metadata=print:key=lavfi.signalstats.YAVG:file=%s[vo];"
             "[0:a]asetnsamples=n=240,astats=metadata=1:reset=1,"
             "ametadata=print:key=lavfi.astats.Overall.RMS_level:file=%s[ao]") % (vtxt, atxt)
    try:
        p = subprocess.run(
            ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
             "-protocol_whitelist", "file,udp,rtp", "-copyts", "-i", sdp, "-t", str(seconds),
             "-filter_complex", graph, "-map", "[vo]", "-map", "[ao]", "-f", "null", "-"],
            capture_output=True, text=True, timeout=timeout or seconds + 20)
        result = analyse(_rows(vtxt, "lavfi.signalstats.YAVG"),
                         _rows(atxt, "lavfi.astats.Overall.RMS_level"))
        result["ffmpeg_log"] = p.stderr[-2000:]
        return result
    finally:
        for name in ("session.sdp", "v.txt", "a.txt"):
            try:
                os.unlink(os.path.join(tmp, name))
            except OSError:
                pass
        os.rmdir(tmp)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        text = f.read()
    r = measure(text, float(sys.argv[2]) if len(sys.argv) > 2 else 20)
    r.pop("ffmpeg_log", None)
    print(r)
