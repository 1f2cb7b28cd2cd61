//! The TCP/IP stack: smoltcp interfaces over the virtio-net device and a loopback device, each
//! with its own socket set, behind one lock held only for short poll and queue operations.
//!
//! Who polls: the device's interrupt (a bounded batch of received frames, the rest on a timer a
//! moment later), the socket calls that queue data or change state, and a timer at smoltcp's
//! `poll_at` (retransmissions, delayed ACKs, DHCP). After a poll, every registered socket
//! compares its readiness with what it last reported and notifies its wait queue on a change.
//!
//! Configuration (kernel command line): `ferrite.ip=ADDR/PREFIX`, `ferrite.gw=ADDR`,
//! `ferrite.dns=ADDR` (repeatable by commas); without `ferrite.ip`, DHCPv4. `/etc/resolv.conf`
//! is rewritten from the configured or leased DNS servers.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ferrite_libos::net::virtio::{self, NetDevice, RxFrame};
use ferrite_libos::sync::IrqMutex;
use ferrite_libos::{kprintln, random};
use smoltcp::iface::{Config, Interface, PollIngressSingleResult, SocketHandle, SocketSet};
use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Loopback, Medium};
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::Instant;
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address, Ipv4Cidr, Ipv6Address,
};

/// Received frames handled per poll before the rest is left for a timer.
const RX_BATCH: usize = 64;

/// Which interface a socket lives on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Link {
    Loopback,
    Ethernet,
}

pub struct Iface {
    pub iface: Interface,
    pub sockets: SocketSet<'static>,
}

pub struct Eth {
    pub link: Iface,
    device: RefCell<NetDevice>,
    dhcp: Option<SocketHandle>,
}

pub struct Net {
    pub lo: Iface,
    lo_device: Loopback,
    pub eth: Option<Eth>,
    /// Ports in use: (is_tcp, port) → number of sockets bound to it.
    ports: BTreeMap<(bool, u16), u32>,
    next_ephemeral: u16,
    /// Closed TCP sockets finishing their FIN exchange, removed once smoltcp is done with them.
    closing: Vec<(Link, SocketHandle)>,
    /// Accept queues of listening sockets, by id.
    listeners: BTreeMap<u64, Listener>,
    next_listener: u64,
    /// Which socket (watcher id) owns each smoltcp socket, and the readiness signature it had
    /// after the last poll: a poll tells only the owners whose signature changed.
    owners: BTreeMap<(Link, SocketHandle), Owner>,
}

/// A listening socket's part in the stack: one smoltcp socket listening per interface (smoltcp
/// has no accept queue), the connections whose handshake is under way and the established ones
/// not yet accepted. Kept here so it can be brought up to date after every received packet:
/// a SYN that takes the listening socket is followed by a new one before the next packet.
struct Owner {
    watcher: u64,
    tcp: bool,
    last: u32,
}

struct Listener {
    /// The listening socket's watcher id, and the accept queue length it last heard of.
    owner: u64,
    reported: usize,
    addr: Option<IpAddress>,
    port: u16,
    backlog: usize,
    listening: Vec<(Link, SocketHandle)>,
    pending: Vec<(Link, SocketHandle)>,
    ready: VecDeque<(Link, SocketHandle)>,
}

/// smoltcp buffer size per TCP socket, each way.
const TCP_BUFFER: usize = 64 * 1024;

pub fn new_tcp_socket() -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(alloc::vec![0u8; TCP_BUFFER]),
        tcp::SocketBuffer::new(alloc::vec![0u8; TCP_BUFFER]),
    );
    // An ACK per two segments at once (smoltcp's delayed ACK slows QEMU's user network, whose
    // TCP paces itself by our ACKs).
    s.set_ack_delay(None);
    s
}

// SAFETY: the device (RefCell) is only touched with the NET lock held.
unsafe impl Send for Net {}

pub static NET: IrqMutex<Option<Net>> = IrqMutex::new(None);

/// Something to tell after a poll that its readiness may have changed.
pub trait Watcher: Send + Sync {
    fn refresh(&self);
}

static WATCHERS: IrqMutex<BTreeMap<u64, Weak<dyn Watcher>>> = IrqMutex::new(BTreeMap::new());
static NEXT_WATCHER: AtomicU64 = AtomicU64::new(1);

pub fn watch(w: Weak<dyn Watcher>) -> u64 {
    let id = NEXT_WATCHER.fetch_add(1, Ordering::Relaxed);
    WATCHERS.lock().insert(id, w);
    id
}

pub fn unwatch(id: u64) {
    WATCHERS.lock().remove(&id);
}

pub fn now() -> Instant {
    let ns = ferrite_libos::time::scale().ticks_to_ns(ferrite_libos::arch::cpu::rdtsc());
    Instant::from_micros((ns / 1000) as i64)
}

/// The virtio device as smoltcp sees it, with a budget of frames for this poll.
struct VirtioPhy<'a> {
    device: &'a RefCell<NetDevice>,
}

pub struct VirtioRx<'a> {
    frame: RxFrame,
    device: &'a RefCell<NetDevice>,
}

pub struct VirtioTx<'a> {
    device: &'a RefCell<NetDevice>,
}

impl phy::RxToken for VirtioRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(self.frame.frame());
        self.device.borrow_mut().recycle(self.frame);
        r
    }
}

impl phy::TxToken for VirtioTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut result = None;
        let mut f = Some(f);
        let sent = self.device.borrow_mut().transmit(len, |buf| {
            result = Some((f.take().expect("once"))(buf));
        });
        match result {
            Some(r) if sent => r,
            Some(r) => r,
            None => {
                // No room: build the frame in a scratch buffer and drop it (smoltcp retransmits).
                let mut scratch = alloc::vec![0u8; len];
                (f.take().expect("once"))(&mut scratch)
            }
        }
    }
}

impl Device for VirtioPhy<'_> {
    type RxToken<'a>
        = VirtioRx<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = VirtioTx<'a>
    where
        Self: 'a;

    fn receive(&mut self, _t: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let frame = self.device.borrow_mut().receive()?;
        Some((
            VirtioRx {
                frame,
                device: self.device,
            },
            VirtioTx {
                device: self.device,
            },
        ))
    }

    fn transmit(&mut self, _t: Instant) -> Option<Self::TxToken<'_>> {
        self.device.borrow_mut().can_transmit().then_some(VirtioTx {
            device: self.device,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = virtio::MAX_FRAME;
        caps.max_burst_size = Some(64);
        caps.checksum = ChecksumCapabilities::default();
        caps
    }
}

fn seed() -> u64 {
    let mut b = [0u8; 8];
    random::fill(&mut b);
    u64::from_ne_bytes(b)
}

fn parse_v4(s: &str) -> Option<Ipv4Address> {
    s.parse().ok()
}

/// Static configuration from the command line.
#[derive(Default, Debug)]
pub struct StaticConfig {
    pub ip: Option<Ipv4Cidr>,
    pub gateway: Option<Ipv4Address>,
    pub dns: Vec<Ipv4Address>,
}

pub fn parse_config(ip: Option<&str>, gw: Option<&str>, dns: Option<&str>) -> StaticConfig {
    StaticConfig {
        ip: ip.and_then(|s| {
            let (a, p) = s.split_once('/').unwrap_or((s, "24"));
            Some(Ipv4Cidr::new(
                parse_v4(a)?,
                p.parse().ok().filter(|p| *p <= 32)?,
            ))
        }),
        gateway: gw.and_then(parse_v4),
        dns: dns
            .map(|d| d.split(',').filter_map(parse_v4).collect())
            .unwrap_or_default(),
    }
}

static STARTED: AtomicBool = AtomicBool::new(false);
/// Print the device and the DHCP lease (with the boot log).
static LOG: AtomicBool = AtomicBool::new(false);

macro_rules! log {
    ($($t:tt)*) => {
        if LOG.load(Ordering::Relaxed) {
            kprintln!($($t)*);
        }
    };
}

/// Bring up loopback and, when a virtio-net device is found, Ethernet. `vector` is the device's
/// interrupt vector; returns the GSI to route for MMIO devices.
pub fn init(config: StaticConfig, vector: u8, apic_id: u32, acpi: bool, log: bool) -> Option<u32> {
    LOG.store(log, Ordering::Relaxed);
    let mut lo_device = Loopback::new(Medium::Ip);
    let mut lo_config = Config::new(HardwareAddress::Ip);
    lo_config.random_seed = seed();
    let mut lo = Interface::new(lo_config, &mut lo_device, now());
    lo.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
        let _ = addrs.push(IpCidr::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), 128));
    });
    let mut gsi = None;
    let eth = virtio::probe(vector, apic_id, acpi).map(|device| {
        let mac = device.mac();
        log!(
            "net: {} virtio-net, MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            device.transport,
            mac[0],
            mac[1],
            mac[2],
            mac[3],
            mac[4],
            mac[5]
        );
        if let virtio::Interrupt::Gsi(g) = device.interrupt {
            gsi = Some(g);
        }
        let device = RefCell::new(device);
        let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        cfg.random_seed = seed();
        let mut phy = VirtioPhy { device: &device };
        let mut iface = Interface::new(cfg, &mut phy, now());
        let link_local = Ipv6Address::new(
            0xfe80,
            0,
            0,
            0,
            u16::from_be_bytes([mac[0] ^ 2, mac[1]]),
            u16::from_be_bytes([mac[2], 0xff]),
            u16::from_be_bytes([0xfe, mac[3]]),
            u16::from_be_bytes([mac[4], mac[5]]),
        );
        let mut sockets = SocketSet::new(Vec::new());
        let dhcp = match config.ip {
            Some(cidr) => {
                iface.update_ip_addrs(|a| {
                    let _ = a.push(IpCidr::Ipv4(cidr));
                    let _ = a.push(IpCidr::new(IpAddress::Ipv6(link_local), 64));
                });
                if let Some(gw) = config.gateway {
                    let _ = iface.routes_mut().add_default_ipv4_route(gw);
                }
                None
            }
            None => {
                iface.update_ip_addrs(|a| {
                    let _ = a.push(IpCidr::new(IpAddress::Ipv6(link_local), 64));
                });
                Some(sockets.add(dhcpv4::Socket::new()))
            }
        };
        Eth {
            link: Iface { iface, sockets },
            device,
            dhcp,
        }
    });
    if !config.dns.is_empty() {
        write_resolv_conf(&config.dns);
    }
    *NET.lock() = Some(Net {
        lo: Iface {
            iface: lo,
            sockets: SocketSet::new(Vec::new()),
        },
        lo_device,
        eth,
        ports: BTreeMap::new(),
        next_ephemeral: 49152 + (seed() % 16384) as u16,
        closing: Vec::new(),
        listeners: BTreeMap::new(),
        next_listener: 1,
        owners: BTreeMap::new(),
    });
    STARTED.store(true, Ordering::Release);
    poll();
    gsi
}

/// DNS servers from a DHCP lease not yet written to /etc/resolv.conf.
static PENDING_DNS: IrqMutex<Option<Vec<Ipv4Address>>> = IrqMutex::new(None);
/// Whether the Ethernet interface has an IPv4 address (static or leased).
static CONFIGURED: AtomicBool = AtomicBool::new(false);

/// Write the DNS servers of a new lease to /etc/resolv.conf. Called from threads only (the
/// boot thread, socket creation): the file system may sleep.
pub fn apply_lease() {
    let pending = PENDING_DNS.lock().take();
    if let Some(servers) = pending
        && !servers.is_empty()
    {
        write_resolv_conf(&servers);
    }
}

/// Longest the boot waits for a DHCP lease, so the service starts with its address and
/// resolv.conf (as Linux's `ip=dhcp` does).
const DHCP_BOOT_WAIT_NS: u64 = 3_000_000_000;

/// At boot, on the boot thread: wait (bounded) for DHCP when it is in use.
pub fn wait_for_address() {
    let dhcp = NET
        .lock()
        .as_ref()
        .is_some_and(|n| n.eth.as_ref().is_some_and(|e| e.dhcp.is_some()));
    if !dhcp {
        return;
    }
    let start = ferrite_smp::sched::now_tsc();
    let limit = ferrite_smp::sched::ns_to_tsc(DHCP_BOOT_WAIT_NS);
    while !CONFIGURED.load(Ordering::Acquire) {
        let now = ferrite_smp::sched::now_tsc();
        if now - start > limit {
            log!("net: no DHCP lease yet; the service starts without an IPv4 address");
            break;
        }
        ferrite_smp::timer::sleep_until(now + ferrite_smp::sched::ns_to_tsc(2_000_000));
        poll();
    }
    apply_lease();
}

fn write_resolv_conf(servers: &[Ipv4Address]) {
    let mut text = String::new();
    for s in servers {
        text.push_str(&alloc::format!("nameserver {s}\n"));
    }
    let _ = crate::fs::vfs::write_file("/etc/resolv.conf", text.as_bytes(), 0o644);
}

/// The device interrupted: acknowledge it, then poll.
pub fn interrupt() {
    if let Some(net) = NET.lock().as_mut()
        && let Some(eth) = net.eth.as_mut()
    {
        eth.device.get_mut().ack_interrupt();
    }
    poll();
}

static TIMER: IrqMutex<Option<(u64, ferrite_smp::timer::TimerHandle)>> = IrqMutex::new(None);

fn timer_fired(_arg: u64) {
    *TIMER.lock() = None;
    poll();
}

fn arm_timer(at: Instant) {
    let now_i = now();
    let delay_us = if at > now_i {
        (at - now_i).total_micros()
    } else {
        0
    };
    let deadline = ferrite_smp::sched::now_tsc() + ferrite_smp::sched::ns_to_tsc(delay_us * 1000);
    let mut t = TIMER.lock();
    if let Some((when, _)) = t.as_ref()
        && *when <= deadline
    {
        return;
    }
    if let Some((_, h)) = t.take() {
        ferrite_smp::timer::cancel(h);
    }
    *t = Some((
        deadline,
        ferrite_smp::timer::add_callback(deadline, timer_fired, 0),
    ));
}

/// Run both interfaces: a bounded batch of received frames, then everything due to be sent;
/// then tell the sockets.
pub fn poll() {
    if !STARTED.load(Ordering::Acquire) {
        return;
    }
    let mut dns = None;
    let changed;
    let next = {
        let mut guard = NET.lock();
        let Some(net) = guard.as_mut() else { return };
        let t = now();
        // Loopback: what sockets sent comes straight back in on the next round. Frames are
        // taken one at a time, listeners brought up to date after each (a SYN that took the
        // listening socket leaves a new one for the next SYN).
        let mut more = true;
        let mut handled = 0;
        for _ in 0..8 {
            loop {
                let r =
                    net.lo
                        .iface
                        .poll_ingress_single(t, &mut net.lo_device, &mut net.lo.sockets);
                if r == PollIngressSingleResult::None || handled >= RX_BATCH {
                    break;
                }
                handled += 1;
                net.maintain_listeners();
            }
            let sent = net
                .lo
                .iface
                .poll_egress(t, &mut net.lo_device, &mut net.lo.sockets);
            if sent == smoltcp::iface::PollResult::None || handled >= RX_BATCH {
                more = handled >= RX_BATCH;
                break;
            }
        }
        if net.eth.is_some() {
            let mut handled = 0;
            while handled < RX_BATCH {
                let Some(eth) = net.eth.as_mut() else { break };
                let mut phy = VirtioPhy {
                    device: &eth.device,
                };
                let r = eth
                    .link
                    .iface
                    .poll_ingress_single(t, &mut phy, &mut eth.link.sockets);
                if r == PollIngressSingleResult::None {
                    break;
                }
                handled += 1;
                net.maintain_listeners();
            }
            more |= handled == RX_BATCH;
            if let Some(eth) = net.eth.as_mut() {
                let mut phy = VirtioPhy {
                    device: &eth.device,
                };
                eth.link
                    .iface
                    .poll_egress(t, &mut phy, &mut eth.link.sockets);
                eth.device.get_mut().reclaim_transmitted();
                if let Some(h) = eth.dhcp {
                    dns = dhcp_event(&mut eth.link, h);
                }
            }
        }
        net.maintain_listeners();
        net.reap_closed();
        let mut next = net.lo.iface.poll_at(t, &net.lo.sockets);
        if let Some(eth) = net.eth.as_mut() {
            let at = eth.link.iface.poll_at(t, &eth.link.sockets);
            next = match (next, at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        changed = net.changed_owners();
        if more { Some(t) } else { next }
    };
    if let Some(servers) = dns {
        // Written later from a thread (this may be an interrupt): see `apply_lease`.
        *PENDING_DNS.lock() = Some(servers);
    }
    if let Some(at) = next {
        arm_timer(at);
    }
    notify_watchers(&changed);
}

fn dhcp_event(link: &mut Iface, h: SocketHandle) -> Option<Vec<Ipv4Address>> {
    let event = link.sockets.get_mut::<dhcpv4::Socket>(h).poll()?;
    match event {
        dhcpv4::Event::Configured(c) => {
            log!("net: DHCP address {}", c.address);
            CONFIGURED.store(true, Ordering::Release);
            link.iface.update_ip_addrs(|a| {
                a.retain(|c| !matches!(c, IpCidr::Ipv4(_)));
                let _ = a.push(IpCidr::Ipv4(c.address));
            });
            if let Some(r) = c.router {
                let _ = link.iface.routes_mut().add_default_ipv4_route(r);
            }
            Some(c.dns_servers.iter().copied().collect())
        }
        dhcpv4::Event::Deconfigured => {
            CONFIGURED.store(false, Ordering::Release);
            link.iface
                .update_ip_addrs(|a| a.retain(|c| !matches!(c, IpCidr::Ipv4(_))));
            link.iface.routes_mut().remove_default_ipv4_route();
            None
        }
    }
}

/// What a socket's readiness depends on in smoltcp, in one word (a change means: look again).
fn signature(set: &SocketSet<'static>, h: SocketHandle, tcp: bool) -> u32 {
    if tcp {
        let t = set.get::<tcp::Socket>(h);
        (t.state() as u32)
            | ((t.recv_queue() > 0) as u32) << 8
            | (t.can_send() as u32) << 9
            | (t.may_recv() as u32) << 10
            | (t.may_send() as u32) << 11
    } else {
        let u = set.get::<smoltcp::socket::udp::Socket>(h);
        0x1000 | (u.can_recv() as u32) | (u.can_send() as u32) << 1
    }
}

fn notify_watchers(ids: &[u64]) {
    if ids.is_empty() {
        return;
    }
    let list: Vec<Arc<dyn Watcher>> = {
        let watchers = WATCHERS.lock();
        ids.iter()
            .filter_map(|id| watchers.get(id).and_then(Weak::upgrade))
            .collect()
    };
    for w in list {
        w.refresh();
    }
}

impl Net {
    /// Record that the socket with watcher id `owner` uses smoltcp socket `h`.
    pub fn own(&mut self, link: Link, h: SocketHandle, watcher: u64, tcp: bool) {
        self.owners.insert(
            (link, h),
            Owner {
                watcher,
                tcp,
                last: u32::MAX,
            },
        );
    }

    pub fn disown(&mut self, link: Link, h: SocketHandle) {
        self.owners.remove(&(link, h));
    }

    /// The owners whose smoltcp sockets or accept queues changed since the last look.
    fn changed_owners(&mut self) -> Vec<u64> {
        let mut changed = Vec::new();
        let Net {
            lo, eth, owners, ..
        } = self;
        for (&(link, h), owner) in owners.iter_mut() {
            let set = match link {
                Link::Loopback => &lo.sockets,
                Link::Ethernet => match eth.as_ref() {
                    Some(e) => &e.link.sockets,
                    None => continue,
                },
            };
            let sig = signature(set, h, owner.tcp);
            if sig != owner.last {
                owner.last = sig;
                changed.push(owner.watcher);
            }
        }
        for l in self.listeners.values_mut() {
            if l.ready.len() != l.reported {
                l.reported = l.ready.len();
                changed.push(l.owner);
            }
        }
        changed
    }

    pub fn add_listener(
        &mut self,
        owner: u64,
        addr: Option<IpAddress>,
        port: u16,
        backlog: usize,
    ) -> u64 {
        let id = self.next_listener;
        self.next_listener += 1;
        self.listeners.insert(
            id,
            Listener {
                owner,
                reported: 0,
                addr,
                port,
                backlog,
                listening: Vec::new(),
                pending: Vec::new(),
                ready: VecDeque::new(),
            },
        );
        self.maintain_listener(id);
        id
    }

    pub fn set_backlog(&mut self, id: u64, backlog: usize) {
        if let Some(l) = self.listeners.get_mut(&id) {
            l.backlog = backlog;
        }
        self.maintain_listener(id);
    }

    pub fn ready_connections(&mut self, id: u64) -> usize {
        self.listeners.get(&id).map_or(0, |l| l.ready.len())
    }

    /// The next established connection (its handle is the caller's from now on).
    pub fn take_connection(&mut self, id: u64) -> Option<(Link, SocketHandle)> {
        let c = self.listeners.get_mut(&id)?.ready.pop_front()?;
        // A place freed in the backlog.
        self.maintain_listener(id);
        Some(c)
    }

    pub fn remove_listener(&mut self, id: u64) {
        let Some(l) = self.listeners.remove(&id) else {
            return;
        };
        for (link, h) in l.listening.into_iter().chain(l.pending).chain(l.ready) {
            if let Some(iface) = self.link(link) {
                iface.sockets.get_mut::<tcp::Socket>(h).abort();
                self.reap_later(link, h);
            }
        }
    }

    fn maintain_listeners(&mut self) {
        let ids: Vec<u64> = self.listeners.keys().copied().collect();
        for id in ids {
            self.maintain_listener(id);
        }
    }

    /// Move connections that arrived on the listening sockets to the pending list and listen
    /// anew (within the backlog); move established ones to the accept queue.
    fn maintain_listener(&mut self, id: u64) {
        let Some(mut l) = self.listeners.remove(&id) else {
            return;
        };
        let mut i = 0;
        while i < l.listening.len() {
            let (link, h) = l.listening[i];
            let listening = self
                .link(link)
                .is_none_or(|f| f.sockets.get::<tcp::Socket>(h).state() == tcp::State::Listen);
            if listening {
                i += 1;
            } else {
                l.pending.push((link, h));
                l.listening.swap_remove(i);
            }
        }
        let mut j = 0;
        while j < l.pending.len() {
            let (link, h) = l.pending[j];
            let state = self
                .link(link)
                .map(|f| f.sockets.get::<tcp::Socket>(h).state());
            match state {
                Some(tcp::State::SynReceived) => j += 1,
                Some(tcp::State::Closed | tcp::State::TimeWait) | None => {
                    if let Some(f) = self.link(link) {
                        f.sockets.remove(h);
                    }
                    l.pending.swap_remove(j);
                }
                Some(_) => {
                    l.ready.push_back((link, h));
                    l.pending.swap_remove(j);
                }
            }
        }
        let links = match l.addr {
            Some(a) => [Some(link_for(a)), None],
            None => [Some(Link::Loopback), Some(Link::Ethernet)],
        };
        for link in links.into_iter().flatten() {
            if l.listening.iter().any(|(k, _)| *k == link)
                || l.pending.len() + l.ready.len() >= l.backlog
            {
                continue;
            }
            let Some(iface) = self.link(link) else {
                continue;
            };
            let mut s = new_tcp_socket();
            let ep = smoltcp::wire::IpListenEndpoint {
                addr: l.addr,
                port: l.port,
            };
            if s.listen(ep).is_ok() {
                l.listening.push((link, iface.sockets.add(s)));
            }
        }
        self.listeners.insert(id, l);
    }

    /// Remove `h` once its connection is over.
    pub fn reap_later(&mut self, link: Link, h: SocketHandle) {
        self.closing.push((link, h));
    }

    fn reap_closed(&mut self) {
        let mut i = 0;
        while i < self.closing.len() {
            let (link, h) = self.closing[i];
            let done = self.link(link).is_none_or(|iface| {
                matches!(
                    iface.sockets.get::<smoltcp::socket::tcp::Socket>(h).state(),
                    smoltcp::socket::tcp::State::Closed | smoltcp::socket::tcp::State::TimeWait
                )
            });
            if done {
                self.owners.remove(&(link, h));
                if let Some(iface) = self.link(link) {
                    iface.sockets.remove(h);
                }
                self.closing.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    pub fn link(&mut self, link: Link) -> Option<&mut Iface> {
        match link {
            Link::Loopback => Some(&mut self.lo),
            Link::Ethernet => self.eth.as_mut().map(|e| &mut e.link),
        }
    }

    pub fn has_ethernet(&self) -> bool {
        self.eth.is_some()
    }

    /// Whether `addr` is one of the Ethernet interface's own addresses.
    pub fn is_own_address(&self, addr: IpAddress) -> bool {
        self.eth
            .as_ref()
            .is_some_and(|e| e.link.iface.has_ip_addr(addr))
    }

    /// Take `port` (0: an ephemeral one) for TCP or UDP. `shared`: another socket may hold it.
    pub fn claim_port(&mut self, tcp: bool, port: u16, shared: bool) -> Option<u16> {
        if port != 0 {
            let n = self.ports.entry((tcp, port)).or_insert(0);
            if *n > 0 && !shared {
                return None;
            }
            *n += 1;
            return Some(port);
        }
        for _ in 0..16384 {
            let p = self.next_ephemeral;
            self.next_ephemeral = if p == 65535 { 49152 } else { p + 1 };
            if let alloc::collections::btree_map::Entry::Vacant(e) = self.ports.entry((tcp, p)) {
                e.insert(1);
                return Some(p);
            }
        }
        None
    }

    pub fn release_port(&mut self, tcp: bool, port: u16) {
        if let Some(n) = self.ports.get_mut(&(tcp, port)) {
            *n -= 1;
            if *n == 0 {
                self.ports.remove(&(tcp, port));
            }
        }
    }
}

/// Which interface reaches `addr`.
pub fn link_for(addr: IpAddress) -> Link {
    let lo = match addr {
        IpAddress::Ipv4(a) => a.is_loopback(),
        IpAddress::Ipv6(a) => a.is_loopback(),
    };
    if lo { Link::Loopback } else { Link::Ethernet }
}

/// Longest the exit of the service waits for sent TCP data to leave (as Linux keeps sending
/// after a process exits, but bounded: the VM is about to stop).
const EXIT_DRAIN_NS: u64 = 2_000_000_000;

/// Before the VM stops at the service's exit: give data queued on Ethernet TCP connections a
/// bounded time to reach the peer.
pub fn drain_before_exit() {
    if !STARTED.load(Ordering::Acquire) {
        return;
    }
    let start = ferrite_smp::sched::now_tsc();
    let limit = ferrite_smp::sched::ns_to_tsc(EXIT_DRAIN_NS);
    loop {
        poll();
        let busy = NET.lock().as_mut().is_some_and(|net| {
            net.eth.as_mut().is_some_and(|eth| {
                eth.link.sockets.iter().any(|(_, s)| match s {
                    smoltcp::socket::Socket::Tcp(t) => {
                        t.send_queue() > 0
                            || matches!(
                                t.state(),
                                smoltcp::socket::tcp::State::FinWait1
                                    | smoltcp::socket::tcp::State::Closing
                                    | smoltcp::socket::tcp::State::LastAck
                            )
                    }
                    _ => false,
                })
            })
        });
        let now = ferrite_smp::sched::now_tsc();
        if !busy || now - start > limit {
            return;
        }
        ferrite_smp::timer::sleep_until(now + ferrite_smp::sched::ns_to_tsc(1_000_000));
    }
}
