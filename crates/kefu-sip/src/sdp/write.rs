//! The SDP writer: [`SessionDescription`] to canonical CRLF text (see the module docs for the
//! order). Values are written as stored; a value holding CR or LF cannot be parsed back.

use std::fmt::{self, Display, Formatter, Write};

use super::parse::extra_rank;
use super::{Attribute, Bandwidth, Connection, MediaDescription, Rtcp, SessionDescription};

impl Display for SessionDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "v={}\r\n", self.version)?;
        let o = &self.origin;
        write!(
            f,
            "o={} {} {} IN {} {}\r\n",
            o.username,
            o.session_id,
            o.session_version,
            o.address_type.as_str(),
            o.address
        )?;
        write!(f, "s={}\r\n", self.session_name)?;
        if let Some(info) = &self.information {
            write!(f, "i={info}\r\n")?;
        }
        for line in self.extra_lines.iter().filter(|l| extra_rank(l.kind) < 4) {
            write!(f, "{}={}\r\n", line.kind, line.value)?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        write_bandwidths(f, &self.bandwidths)?;
        write!(f, "t={} {}\r\n", self.timing.start, self.timing.stop)?;
        for line in self.extra_lines.iter().filter(|l| extra_rank(l.kind) >= 4) {
            write!(f, "{}={}\r\n", line.kind, line.value)?;
        }
        if let Some(d) = self.direction {
            write!(f, "a={}\r\n", d.as_str())?;
        }
        write_attributes(f, &self.attributes)?;
        for media in &self.media {
            write!(f, "{media}")?;
        }
        Ok(())
    }
}

impl Display for Connection {
    /// `IN IP4 <address>`: the value of a `c=` line.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "IN {} {}", super::AddressType::of(self.address).as_str(), self.address)
    }
}

impl Display for Rtcp {
    /// `<port>[ IN IP4 <address>]`: the value of an `a=rtcp` attribute.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.port)?;
        if let Some(c) = &self.connection {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

impl Display for MediaDescription {
    /// The `m=` line and everything under it.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media.as_str(), self.port)?;
        if let Some(count) = self.port_count {
            write!(f, "/{count}")?;
        }
        write!(f, " {}", self.protocol.as_str())?;
        for format in &self.formats {
            f.write_char(' ')?;
            f.write_str(format)?;
        }
        f.write_str("\r\n")?;
        if let Some(info) = &self.information {
            write!(f, "i={info}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        write_bandwidths(f, &self.bandwidths)?;
        if let Some(key) = &self.key {
            write!(f, "k={key}\r\n")?;
        }
        for map in &self.rtpmaps {
            write!(f, "a=rtpmap:{} {}/{}", map.payload_type, map.encoding, map.clock_rate)?;
            if let Some(channels) = map.channels {
                write!(f, "/{channels}")?;
            }
            f.write_str("\r\n")?;
        }
        for fmtp in &self.fmtps {
            if fmtp.params.is_empty() {
                write!(f, "a=fmtp:{}\r\n", fmtp.payload_type)?;
            } else {
                write!(f, "a=fmtp:{} {}\r\n", fmtp.payload_type, fmtp.params)?;
            }
        }
        if let Some(ptime) = self.ptime {
            write!(f, "a=ptime:{ptime}\r\n")?;
        }
        if let Some(maxptime) = self.maxptime {
            write!(f, "a=maxptime:{maxptime}\r\n")?;
        }
        if let Some(rtcp) = &self.rtcp {
            write!(f, "a=rtcp:{rtcp}\r\n")?;
        }
        if let Some(d) = self.direction {
            write!(f, "a={}\r\n", d.as_str())?;
        }
        write_attributes(f, &self.attributes)
    }
}

fn write_bandwidths(f: &mut Formatter<'_>, bandwidths: &[Bandwidth]) -> fmt::Result {
    for b in bandwidths {
        write!(f, "b={}:{}\r\n", b.kind, b.value)?;
    }
    Ok(())
}

fn write_attributes(f: &mut Formatter<'_>, attributes: &[Attribute]) -> fmt::Result {
    for a in attributes {
        match &a.value {
            Some(value) => write!(f, "a={}:{value}\r\n", a.name)?,
            None => write!(f, "a={}\r\n", a.name)?,
        }
    }
    Ok(())
}
