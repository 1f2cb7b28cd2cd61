//! Socket addresses: moving them between the service and the kernel with Linux's length rules
//! (`move_addr_to_kernel` / `move_addr_to_user`), and the AF_UNIX, AF_INET and AF_INET6 layouts.

use alloc::vec::Vec;

use crate::abi;
use crate::errno::Errno;
use crate::uaccess;

/// sizeof(struct sockaddr_storage).
pub const STORAGE_LEN: usize = 128;
/// offsetof(struct sockaddr_un, sun_path).
pub const UNIX_PATH_OFFSET: usize = 2;
/// sizeof(struct sockaddr_un).
pub const UNIX_LEN: usize = 110;
pub const INET_LEN: usize = 16;
pub const INET6_LEN: usize = 28;

/// An AF_UNIX name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnixName {
    /// Not bound (getsockname shows just the family).
    Unnamed,
    /// A file-system path (without the NUL).
    Path(Vec<u8>),
    /// An abstract name: the bytes after the leading NUL.
    Abstract(Vec<u8>),
}

/// A socket address as the kernel keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SockAddr {
    Unix(UnixName),
    Inet {
        addr: [u8; 4],
        port: u16,
    },
    Inet6 {
        addr: [u8; 16],
        port: u16,
        flowinfo: u32,
        scope_id: u32,
    },
}

impl SockAddr {
    /// The bytes the service gets (their count is the length it is told).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(INET6_LEN);
        match self {
            SockAddr::Unix(name) => {
                b.extend_from_slice(&(abi::AF_UNIX as u16).to_ne_bytes());
                match name {
                    UnixName::Unnamed => {}
                    UnixName::Path(p) => {
                        b.extend_from_slice(p);
                        b.push(0);
                    }
                    UnixName::Abstract(a) => {
                        b.push(0);
                        b.extend_from_slice(a);
                    }
                }
            }
            SockAddr::Inet { addr, port } => {
                b.extend_from_slice(&(abi::AF_INET as u16).to_ne_bytes());
                b.extend_from_slice(&port.to_be_bytes());
                b.extend_from_slice(addr);
                b.extend_from_slice(&[0; 8]);
            }
            SockAddr::Inet6 {
                addr,
                port,
                flowinfo,
                scope_id,
            } => {
                b.extend_from_slice(&(abi::AF_INET6 as u16).to_ne_bytes());
                b.extend_from_slice(&port.to_be_bytes());
                b.extend_from_slice(&flowinfo.to_be_bytes());
                b.extend_from_slice(addr);
                b.extend_from_slice(&scope_id.to_ne_bytes());
            }
        }
        b
    }
}

/// The address family in the first two bytes (None when shorter).
pub fn family_of(raw: &[u8]) -> Option<u32> {
    (raw.len() >= 2).then(|| u16::from_ne_bytes([raw[0], raw[1]]) as u32)
}

/// Linux's `move_addr_to_kernel`: EINVAL for a length above sockaddr_storage (or negative as
/// an int), EFAULT when unreadable.
pub fn read_user(addr: u64, len: u64) -> Result<Vec<u8>, Errno> {
    let len = len as u32 as i32;
    if !(0..=STORAGE_LEN as i32).contains(&len) {
        return Err(Errno::EINVAL);
    }
    let mut buf = alloc::vec![0u8; len as usize];
    uaccess::read_exact(addr, &mut buf)?;
    Ok(buf)
}

/// Linux's `move_addr_to_user`: `*len_addr` says how much room there is; at most that much of
/// `bytes` is copied and the full length is written back. Negative room is EINVAL.
pub fn write_user(bytes: &[u8], addr: u64, len_addr: u64) -> Result<(), Errno> {
    let room: i32 = uaccess::read(len_addr)?;
    if room < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (room as usize).min(bytes.len());
    if n > 0 {
        uaccess::write_exact(addr, &bytes[..n])?;
    }
    uaccess::write(len_addr, &(bytes.len() as i32))
}

/// An AF_UNIX address as bind and connect take it (Linux's `unix_validate_addr` and
/// `unix_mkname_bsd`): at least one path byte, at most sizeof(sockaddr_un), family AF_UNIX; a
/// leading NUL makes it abstract (every byte of the length counts), otherwise the path ends at
/// its first NUL.
pub fn parse_unix(raw: &[u8]) -> Result<UnixName, Errno> {
    if raw.len() <= UNIX_PATH_OFFSET || raw.len() > UNIX_LEN {
        return Err(Errno::EINVAL);
    }
    if family_of(raw) != Some(abi::AF_UNIX) {
        return Err(Errno::EINVAL);
    }
    let path = &raw[UNIX_PATH_OFFSET..];
    if path[0] == 0 {
        return Ok(UnixName::Abstract(path[1..].to_vec()));
    }
    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
    Ok(UnixName::Path(path[..end].to_vec()))
}

/// A sockaddr_in's address and port (EINVAL when shorter; the family is the caller's check).
pub fn parse_inet(raw: &[u8]) -> Result<([u8; 4], u16), Errno> {
    if raw.len() < INET_LEN {
        return Err(Errno::EINVAL);
    }
    let port = u16::from_be_bytes([raw[2], raw[3]]);
    Ok((raw[4..8].try_into().expect("4 bytes"), port))
}

/// A sockaddr_in6 as `SockAddr::Inet6` (EINVAL when shorter than the RFC 2133 layout of 24
/// bytes, as Linux; the family is the caller's check).
pub fn parse_inet6(raw: &[u8]) -> Result<SockAddr, Errno> {
    const RFC2133_LEN: usize = 24;
    if raw.len() < RFC2133_LEN {
        return Err(Errno::EINVAL);
    }
    let scope_id = if raw.len() >= INET6_LEN {
        u32::from_ne_bytes(raw[24..28].try_into().expect("4 bytes"))
    } else {
        0
    };
    Ok(SockAddr::Inet6 {
        addr: raw[8..24].try_into().expect("16 bytes"),
        port: u16::from_be_bytes([raw[2], raw[3]]),
        flowinfo: u32::from_be_bytes(raw[4..8].try_into().expect("4 bytes")),
        scope_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(path: &[u8]) -> Vec<u8> {
        let mut b = (abi::AF_UNIX as u16).to_ne_bytes().to_vec();
        b.extend_from_slice(path);
        b
    }

    #[test]
    fn unix_names_as_linux() {
        assert_eq!(
            parse_unix(&unix(b"/tmp/s\0junk")),
            Ok(UnixName::Path(b"/tmp/s".to_vec()))
        );
        assert_eq!(
            parse_unix(&unix(b"\0ab\0c")),
            Ok(UnixName::Abstract(b"ab\0c".to_vec()))
        );
        assert_eq!(parse_unix(&unix(b"")), Err(Errno::EINVAL));
        assert_eq!(parse_unix(&unix(&[b'a'; 109])), Err(Errno::EINVAL));
        let mut wrong = unix(b"/x");
        wrong[0] = abi::AF_INET as u8;
        assert_eq!(parse_unix(&wrong), Err(Errno::EINVAL));
        let path = SockAddr::Unix(UnixName::Path(b"/a".to_vec())).to_bytes();
        assert_eq!(path.len(), 2 + 2 + 1);
        let abs = SockAddr::Unix(UnixName::Abstract(b"xy".to_vec())).to_bytes();
        assert_eq!(abs.len(), 2 + 1 + 2);
        assert_eq!(SockAddr::Unix(UnixName::Unnamed).to_bytes().len(), 2);
    }

    #[test]
    fn inet_layouts() {
        let a = SockAddr::Inet {
            addr: [127, 0, 0, 1],
            port: 8080,
        };
        let b = a.to_bytes();
        assert_eq!(b.len(), INET_LEN);
        assert_eq!(parse_inet(&b), Ok(([127, 0, 0, 1], 8080)));
        assert_eq!(parse_inet(&b[..15]), Err(Errno::EINVAL));
        let six = SockAddr::Inet6 {
            addr: [0; 16],
            port: 80,
            flowinfo: 7,
            scope_id: 3,
        };
        let b = six.to_bytes();
        assert_eq!(b.len(), INET6_LEN);
        assert_eq!(parse_inet6(&b), Ok(six));
    }
}
