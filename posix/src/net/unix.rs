//! AF_UNIX sockets (being written).

use alloc::sync::Arc;

use crate::abi;
use crate::errno::Errno;
use crate::net::{Family, Socket};

pub static FAMILY: Family = Family {
    domain: abi::AF_UNIX,
    create,
    pair: None,
};

fn create(_kind: u32, _protocol: u32) -> Result<Arc<dyn Socket>, Errno> {
    Err(Errno::ESOCKTNOSUPPORT)
}
