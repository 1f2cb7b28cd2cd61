//! System-call results: a value or a Linux errno, returned to the service as `-errno`.

use crate::abi;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

pub type SysResult = Result<i64, Errno>;

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        impl Errno {
            $(pub const $name: Errno = Errno(abi::$name as i32);)*
        }
    };
}

errnos!(
    EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, EBADF, ECHILD, EAGAIN, ENOMEM, EACCES, EFAULT,
    EBUSY, EEXIST, ENODEV, ENOTDIR, EISDIR, EINVAL, ENFILE, EMFILE, ENOTTY, EFBIG, ENOSPC, ESPIPE,
    EROFS, EPIPE, ERANGE, ENOSYS, EOPNOTSUPP, ETIMEDOUT,
);

// Files (issue 5, VFS).
errnos!(
    ENOTEMPTY,
    ELOOP,
    ENAMETOOLONG,
    EXDEV,
    EOVERFLOW,
    EMLINK,
    ETXTBSY
);

// Sockets (issue 6).
errnos!(
    ENOTSOCK,
    EDESTADDRREQ,
    EMSGSIZE,
    EPROTOTYPE,
    ENOPROTOOPT,
    EPROTONOSUPPORT,
    ESOCKTNOSUPPORT,
    EPFNOSUPPORT,
    EAFNOSUPPORT,
    EADDRINUSE,
    EADDRNOTAVAIL,
    ENETDOWN,
    ENETUNREACH,
    ENETRESET,
    ECONNABORTED,
    ECONNRESET,
    ENOBUFS,
    EISCONN,
    ENOTCONN,
    ESHUTDOWN,
    ECONNREFUSED,
    EHOSTDOWN,
    EHOSTUNREACH,
    EALREADY,
    EINPROGRESS,
    EDOM,
);

/// Convert a dispatcher result into the register value the service sees.
pub fn to_return_value(result: SysResult) -> i64 {
    match result {
        Ok(v) => v,
        Err(Errno(e)) => -(e as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_negative() {
        assert_eq!(to_return_value(Ok(5)), 5);
        assert_eq!(to_return_value(Err(Errno::ENOSYS)), -38);
        assert_eq!(to_return_value(Err(Errno::EFAULT)), -14);
    }
}
