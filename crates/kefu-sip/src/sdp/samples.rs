//! Realistic session descriptions from the peers kefu meets, shared by the SDP tests.

/// baresip 3.x offering opus, PCMU, PCMA and telephone-events (LF line ends, as some
/// tools log and replay them).
pub const BARESIP_OFFER: &str = "v=0
o=- 1689163922 2730517393 IN IP4 192.168.1.23
s=-
c=IN IP4 192.168.1.23
t=0 0
m=audio 10124 RTP/AVP 96 0 8 101
b=AS:94
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
a=label:1
a=ssrc:2795612731 cname:d8bd1b8e-5a6e-4a4b-a9a3-2b2ad4e0e8a1
a=rtcp-rsize
";

/// Linphone offering audio (telephone-events at three clock rates, G.729 with an fmtp but no
/// rtpmap) and video.
pub const LINPHONE_OFFER: &str = "v=0\r
o=1001 3203 1772 IN IP4 10.0.0.7\r
s=Talk\r
c=IN IP4 10.0.0.7\r
t=0 0\r
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100\r
a=rtpmap:96 opus/48000/2\r
a=fmtp:96 useinbandfec=1\r
a=rtpmap:97 speex/16000\r
a=fmtp:97 vbr=on\r
a=rtpmap:98 speex/8000\r
a=fmtp:98 vbr=on\r
a=fmtp:18 annexb=yes\r
a=rtpmap:101 telephone-event/48000\r
a=rtpmap:99 telephone-event/16000\r
a=rtpmap:100 telephone-event/8000\r
a=rtcp-fb:* trr-int 1000\r
a=rtcp-fb:* ccm tmmbr\r
m=video 9078 RTP/AVP 96 97\r
a=rtpmap:96 VP8/90000\r
a=rtpmap:97 H264/90000\r
a=fmtp:97 profile-level-id=42801F\r
a=rtcp-fb:* trr-int 1000\r
";

/// A carrier SBC offering PCMA only.
pub const CARRIER_PCMA_OFFER: &str = "v=0\r
o=Sonus_UAC 245869 412537 IN IP4 203.0.113.5\r
s=SIP Media Capabilities\r
c=IN IP4 203.0.113.10\r
t=0 0\r
m=audio 35000 RTP/AVP 8 101\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-15\r
a=maxptime:20\r
a=sendrecv\r
";

/// baresip putting the call on hold: re-INVITE with `a=sendonly`.
pub const HOLD_SENDONLY_OFFER: &str = "v=0\r
o=- 1689163922 2730517394 IN IP4 192.168.1.23\r
s=-\r
c=IN IP4 192.168.1.23\r
t=0 0\r
m=audio 10124 RTP/AVP 0 101\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-15\r
a=sendonly\r
";

/// An old gateway putting the call on hold the RFC 2543 way: `c=0.0.0.0`, no direction.
pub const OLD_HOLD_OFFER: &str = "v=0\r
o=CiscoSystemsSIP-GW-UserAgent 4305 7612 IN IP4 198.51.100.20\r
s=SIP Call\r
c=IN IP4 0.0.0.0\r
t=0 0\r
m=audio 17890 RTP/AVP 0 8 101\r
c=IN IP4 0.0.0.0\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-16\r
a=ptime:20\r
";

/// An IPv6 offer preferring PCMA, with RTCP on another address (RFC 3605).
pub const IPV6_OFFER: &str = "v=0\r
o=alice 2890844526 2890844527 IN IP6 2001:db8::10\r
s=-\r
c=IN IP6 2001:db8::10\r
t=0 0\r
m=audio 49170 RTP/AVP 8 0 101\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:101 telephone-event/8000\r
a=rtcp:49171 IN IP6 2001:db8::11\r
";

/// A WebRTC-style offer: DTLS-SRTP only, which kefu cannot terminate.
pub const WEBRTC_OFFER: &str = "v=0\r
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0\r
m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r
c=IN IP4 0.0.0.0\r
a=rtpmap:111 opus/48000/2\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=setup:actpass\r
a=mid:0\r
";

/// A trunk offering G.729 and GSM only.
pub const G729_ONLY_OFFER: &str = "v=0\r
o=gw 1 1 IN IP4 203.0.113.7\r
s=-\r
c=IN IP4 203.0.113.7\r
t=0 0\r
m=audio 4000 RTP/AVP 18 3\r
a=rtpmap:18 G729/8000\r
a=fmtp:18 annexb=no\r
a=rtpmap:3 GSM/8000\r
";

/// Every sample, for round-trip tests.
pub const ALL: &[&str] = &[
    BARESIP_OFFER,
    LINPHONE_OFFER,
    CARRIER_PCMA_OFFER,
    HOLD_SENDONLY_OFFER,
    OLD_HOLD_OFFER,
    IPV6_OFFER,
    WEBRTC_OFFER,
    G729_ONLY_OFFER,
];
