//! SIP and RTP for kefu: registrar, B2BUA call legs, G.711 media, RFC 4733 digits, prompt
//! playback, recording and the supervisor mixer.
//!
//! Nothing is implemented yet. This crate is the place the telephony issue fills; it exports
//! nothing so that no caller can mistake it for working telephony.
