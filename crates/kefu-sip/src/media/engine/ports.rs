//! The shared pool of even RTP ports and the sockets leased from it.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::UdpSocket;

/// Even ports in `[port_min, port_max]`, handed out round-robin so a port just freed is the last
/// one reused (a late packet for the previous call then finds the port closed or idle).
#[derive(Debug)]
pub(super) struct PortPool {
    bind_ip: IpAddr,
    /// The lowest even port in range.
    first: u16,
    /// How many even ports the range holds.
    count: usize,
    state: Mutex<PoolState>,
}

#[derive(Debug)]
struct PoolState {
    /// `in_use[i]` covers port `first + 2 * i`.
    in_use: Vec<bool>,
    /// Where the next search starts.
    cursor: usize,
}

impl PortPool {
    /// A pool over the even ports of `[port_min, port_max]` (empty when there are none).
    pub(super) fn new(bind_ip: IpAddr, port_min: u16, port_max: u16) -> Self {
        let first = port_min.saturating_add(port_min & 1);
        let count = if port_max >= first { usize::from((port_max - first) / 2) + 1 } else { 0 };
        Self { bind_ip, first, count, state: Mutex::new(PoolState { in_use: vec![false; count], cursor: 0 }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn port_at(&self, index: usize) -> Option<u16> {
        u16::try_from(index).ok().and_then(|i| i.checked_mul(2)).and_then(|off| self.first.checked_add(off))
    }

    /// Marks the next free port from the cursor as taken, counting the slots looked at in `scanned`.
    fn reserve(&self, scanned: &mut usize) -> Option<u16> {
        let mut state = self.lock();
        while *scanned < self.count {
            *scanned += 1;
            let index = state.cursor;
            state.cursor = (index + 1) % self.count;
            if let Some(slot) = state.in_use.get_mut(index)
                && !*slot
            {
                *slot = true;
                return self.port_at(index);
            }
        }
        None
    }

    /// Returns `port` to the pool.
    fn release(&self, port: u16) {
        let Some(offset) = port.checked_sub(self.first) else { return };
        if let Some(slot) = self.lock().in_use.get_mut(usize::from(offset / 2)) {
            *slot = false;
        }
    }

    /// Ports currently leased.
    #[cfg(test)]
    pub(super) fn leased(&self) -> usize {
        self.lock().in_use.iter().filter(|&&u| u).count()
    }

    /// Binds a UDP socket on the next free even port, skipping ports another process holds.
    pub(super) async fn allocate(self: &Arc<Self>) -> io::Result<RtpSocket> {
        let mut scanned = 0;
        while let Some(port) = self.reserve(&mut scanned) {
            let lease = PortLease { pool: Arc::clone(self), port };
            match UdpSocket::bind((self.bind_ip, port)).await {
                Ok(socket) => {
                    // Tokio only attempts `try_send_to` once the reactor has reported the socket
                    // writable; wait for that here so the first packets are not dropped.
                    socket.writable().await?;
                    let local = socket.local_addr()?;
                    return Ok(RtpSocket { socket, local, _lease: lease });
                }
                // Taken by another process (or forbidden to us): try the next one.
                Err(e) if matches!(e.kind(), io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied) => {
                    drop(lease);
                }
                Err(e) => return Err(e),
            }
        }
        let last = self.port_at(self.count.saturating_sub(1)).unwrap_or(self.first);
        Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("no free RTP port on {} in {}-{} ({} even ports)", self.bind_ip, self.first, last, self.count),
        ))
    }
}

/// A port taken from the pool; gives it back when dropped.
#[derive(Debug)]
struct PortLease {
    pool: Arc<PortPool>,
    port: u16,
}

impl Drop for PortLease {
    fn drop(&mut self) {
        self.pool.release(self.port);
    }
}

/// A UDP socket bound on an even port of the engine's range, for one call leg's RTP.
///
/// Dropping it closes the socket and returns the port to the pool.
#[derive(Debug)]
pub struct RtpSocket {
    // Field order matters: the socket closes before its port is offered again.
    pub(super) socket: UdpSocket,
    local: SocketAddr,
    _lease: PortLease,
}

impl RtpSocket {
    /// The address the socket is bound to (the engine's `bind_ip`, possibly unspecified, and the port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The RTP port, for the SDP `m=` line.
    pub fn port(&self) -> u16 {
        self.local.port()
    }
}
