"""Issue 12: RTP sessions carry the lobby's audio — a second m-line (Opus,
pt 97) at port + 2 or at a requested "audio_destination", decoded by ffmpeg
from the SDP, audio stats, RTCP sender reports (what lets a player line the
streams up), and audio_destination's checks, storage and restore."""
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from lbtest import DaemonTest, count_udp_packets, free_port, wait_until  # noqa: E402


def free_port_quad():
    """A base port with base..base+3 free on 127.0.0.1 (video RTP/RTCP, audio RTP/RTCP)."""
    for _ in range(100):
        base = free_port() & ~1
        socks = []
        try:
            for i in range(4):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no 4 free consecutive UDP ports")


def rtp_join(d, lobby_id, port, audio_destination=None, host="127.0.0.1"):
    body = {"transport": "rtp", "destination": {"host": host, "port": port},
            "profile": {"codec": "h264", "width": 320, "height": 240, "fps": 30, "bitrate_kbps": 800}}
    if audio_destination is not None:
        body["audio_destination"] = audio_destination
    return d.request("POST", "/api/v1/lobbies/%s/sessions" % lobby_id, body)


def create_lobby(d, audio=None, name="a"):
    body = {"name": name, "source": {"type": "testsrc", "pattern": "ball"},
            "video": {"width": 320, "height": 240, "fps": 30}}
    if audio is not None:
        body["audio"] = audio
    r = d.request("POST", "/api/v1/lobbies", body)
    assert r.status in (200, 201), r.body
    return r.json


def receive_rtcp_sr(port, seconds):
    """The (ssrc, ntp_seconds) of the RTCP SRs arriving on 127.0.0.1:@port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(0.1)
    out = []
    end = time.time() + seconds
    while time.time() < end:
        try:
            pkt = s.recv(2048)
        except socket.timeout:
            continue
        if len(pkt) >= 28 and pkt[0] >> 6 == 2 and pkt[1] == 200:
            ssrc, ntp_s = struct.unpack("!II", pkt[4:12])
            out.append((ssrc, ntp_s))
    s.close()
    return out


def ffmpeg_audio(sdp_text, seconds=5, video=True):
    """Plays the SDP with ffmpeg for @seconds: (video frames, audio samples,
    max_volume dB, mean_volume dB, log); @video False: the audio stream only
    (-vn: the video is not decoded, frames is 0)."""
    with tempfile.NamedTemporaryFile("w", suffix=".sdp", delete=False) as f:
        f.write(sdp_text)
        path = f.name
    try:
        p = subprocess.run(
            ["ffmpeg", "-hide_banner", "-nostdin", "-protocol_whitelist", "file,udp,rtp",
             "-i", path, "-t", str(seconds)]
            + (["-map", "0:v"] if video else ["-vn"])
            + ["-map", "0:a", "-af", "volumedetect", "-f", "null", "-"],
            capture_output=True, text=True, timeout=seconds + 25)
    finally:
        os.unlink(path)
    log = p.stderr

    def num(pattern):
        m = re.findall(pattern, log)
        return float(m[-1]) if m else None
    frames = num(r"frame=\s*(\d+)")
    samples = num(r"n_samples: (\d+)")
    return (int(frames or 0), int(samples or 0), num(r"max_volume: ([-\d.]+) dB"),
            num(r"mean_volume: ([-\d.]+) dB"), log)


class AudioRtpTest(DaemonTest):
    def require_audio(self, lobby):
        """The lobby's audio (the producer's tone and its Opus encode) runs."""
        state = {}

        def running():
            state.update(self.d.request("GET", "/api/v1/lobbies/" + lobby["id"]).json)
            return state.get("audio_state") == "running"
        self.assertTrue(wait_until(running, timeout=5.0), state)

    def session(self, sid):
        r = self.d.request("GET", "/api/v1/sessions/" + sid)
        self.assertEqual(r.status, 200, r.body)
        return r.json

    def sdp(self, session):
        r = self.d.request("GET", session["sdp_url"])
        self.assertEqual(r.status, 200)
        return r.body.decode()

    # --- needs a lobby with audio ---------------------------------------------------------------

    def test_sdp_has_audio_and_ffmpeg_decodes_both(self):
        lobby = create_lobby(self.d)
        self.require_audio(lobby)
        port = free_port_quad()
        r = rtp_join(self.d, lobby["id"], port)
        self.assertEqual(r.status, 201, r.body)
        sdp = self.sdp(r.json)
        self.assertIn("m=video %d RTP/AVP 96" % port, sdp)
        self.assertIn("m=audio %d RTP/AVP 97\r\n" % (port + 2), sdp)
        self.assertIn("a=rtpmap:97 OPUS/48000/2\r\n", sdp)
        self.assertIn("a=fmtp:97 sprop-stereo=1\r\n", sdp)
        self.assertLess(sdp.index("m=video"), sdp.index("m=audio"))
        frames, samples, max_db, mean_db, log = ffmpeg_audio(sdp, 5)
        self.assertGreater(frames, 30, log[-2000:])
        self.assertGreater(samples, 48000, log[-2000:])
        # The tone beeps 100 ms every second at about -9 dBFS: not silence.
        self.assertIsNotNone(max_db, log[-2000:])
        self.assertGreater(max_db, -15.0, log[-2000:])
        self.assertGreater(mean_db, -35.0, log[-2000:])

    def test_audio_stats_and_sender_reports(self):
        lobby = create_lobby(self.d)
        self.require_audio(lobby)
        port = free_port_quad()
        s = rtp_join(self.d, lobby["id"], port).json
        time.sleep(1.0)
        a0 = self.session(s["id"])["stats"]["audio"]
        t0 = time.time()
        srs = receive_rtcp_sr(port + 3, 2.0)
        a1 = self.session(s["id"])["stats"]["audio"]
        rate = (a1["packets_sent"] - a0["packets_sent"]) / (time.time() - t0)
        # 20 ms Opus packets: 50 a second (generous bounds for a loaded CI box).
        self.assertGreater(rate, 30, (a0, a1))
        self.assertLess(rate, 80, (a0, a1))
        self.assertGreater(a1["bytes_sent"], a0["bytes_sent"])
        self.assertEqual(a1["payload_type"], 97)
        self.assertNotEqual(a1["ssrc"], self.session(s["id"])["stats"]["ssrc"])
        # An SR a second on audio's RTCP port, for the audio SSRC.
        self.assertGreaterEqual(len(srs), 1)
        self.assertTrue(all(ssrc == a1["ssrc"] for ssrc, _ in srs), (srs, a1))

    def test_audio_destination_is_honoured(self):
        lobby = create_lobby(self.d)
        self.require_audio(lobby)
        port = free_port_quad()
        aport = free_port_quad()
        s = rtp_join(self.d, lobby["id"], port, {"host": "127.0.0.1", "port": aport})
        self.assertEqual(s.status, 201, s.body)
        self.assertIn("m=audio %d RTP/AVP 97" % aport, self.sdp(s.json))
        self.assertGreater(count_udp_packets(aport, 1.0), 25)
        self.assertEqual(count_udp_packets(port + 2, 0.5), 0)

    def test_restart_restores_audio_and_its_destination(self):
        lobby = create_lobby(self.d)
        self.require_audio(lobby)
        port, aport = free_port_quad(), free_port_quad()
        s = rtp_join(self.d, lobby["id"], port, {"host": "127.0.0.1", "port": aport}).json
        self.assertGreater(count_udp_packets(aport, 0.5), 5)
        self.d.kill9()
        self.d.start()
        self.assertEqual(self.session(s["id"])["audio_destination"], {"host": "127.0.0.1", "port": aport})
        self.require_audio(lobby)
        self.assertGreater(count_udp_packets(aport, 1.0), 20)

    # --- runs on any lobby -----------------------------------------------------------------------

    def test_lobby_without_audio_has_one_m_line(self):
        lobby = create_lobby(self.d, audio=False)
        port = free_port_quad()
        s = rtp_join(self.d, lobby["id"], port, {"host": "127.0.0.1", "port": port + 10})
        self.assertEqual(s.status, 201, s.body)
        sdp = self.sdp(s.json)
        self.assertIn("m=video %d RTP/AVP 96" % port, sdp)
        self.assertNotIn("m=audio", sdp)
        time.sleep(0.5)
        self.assertNotIn("audio", self.session(s.json["id"])["stats"])
        self.assertEqual(count_udp_packets(port + 10, 0.5), 0)

    def test_video_sender_reports(self):
        """Video gets its SRs (RTCP at port + 1, SSRC of the stream) on any lobby."""
        lobby = create_lobby(self.d, audio=False)
        port = free_port_quad()
        s = rtp_join(self.d, lobby["id"], port).json
        srs = receive_rtcp_sr(port + 1, 2.5)
        ssrc = self.session(s["id"])["stats"]["ssrc"]
        self.assertGreaterEqual(len(srs), 2, srs)
        self.assertTrue(all(x == ssrc for x, _ in srs), (srs, ssrc))
        # NTP seconds since 1900: now, within a minute.
        now_ntp = int(time.time()) + 2208988800
        self.assertTrue(all(abs(n - now_ntp) < 60 for _, n in srs), srs)
        self.assertGreaterEqual(self.session(s["id"])["stats"]["rtcp_sr_sent"], 2)

    def test_audio_destination_refused(self):
        lobby = create_lobby(self.d)
        port = free_port_quad()
        cases = [
            ({"host": "8.8.8.8", "port": 6000}, 403, "destination_not_allowed"),
            ({"host": "192.168.1.1", "port": 6000}, 403, "destination_not_allowed"),
            ({"host": "example.com", "port": 6000}, 400, "invalid_field"),
            # The same codes as "destination" gives.
            ({"host": "127.0.0.1", "port": 0}, 400, "out_of_range"),
            ({"host": "127.0.0.1", "port": 70000}, 400, "out_of_range"),
            ({"host": "127.0.0.1"}, 400, "missing_field"),
            ({"host": "127.0.0.1", "port": 6000, "x": 1}, 400, "unknown_field"),
            ("127.0.0.1:6000", 400, "invalid_field"),
            # Video's RTP and RTCP ports, and audio RTCP on video's RTP port.
            ({"host": "127.0.0.1", "port": port}, 400, "invalid_field"),
            ({"host": "127.0.0.1", "port": port + 1}, 400, "invalid_field"),
            ({"host": "127.0.0.1", "port": port - 1}, 400, "invalid_field"),
        ]
        for dest, status, code in cases:
            with self.subTest(dest=dest):
                r = rtp_join(self.d, lobby["id"], port, dest)
                self.assertEqual((r.status, r.error_code()), (status, code), r.body)
        self.assertEqual(self.d.request("GET", "/api/v1/sessions").json["sessions"], [])
        # The same ports on another host are fine; and the default needs no member.
        r = rtp_join(self.d, lobby["id"], port, {"host": "127.0.0.2", "port": port})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json["audio_destination"], {"host": "127.0.0.2", "port": port})
        r = rtp_join(self.d, lobby["id"], free_port_quad())
        self.assertEqual(r.status, 201, r.body)
        self.assertNotIn("audio_destination", r.json)

    def test_audio_destination_is_stored(self):
        lobby = create_lobby(self.d, audio=False)
        port, aport = free_port_quad(), free_port_quad()
        s = rtp_join(self.d, lobby["id"], port, {"host": "127.0.0.1", "port": aport}).json
        self.assertEqual(s["audio_destination"], {"host": "127.0.0.1", "port": aport})
        self.d.kill9()
        self.d.start()
        self.assertEqual(self.session(s["id"])["audio_destination"], {"host": "127.0.0.1", "port": aport})
        self.assertEqual(self.session(s["id"])["destination"], {"host": "127.0.0.1", "port": port})


if __name__ == "__main__":
    unittest.main()
