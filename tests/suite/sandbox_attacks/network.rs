//! Network and IPC: interface changes and raw sockets with the network on, TCP and
//! unix datagrams with destination addresses with the network off, abstract unix
//! sockets outside the sandbox. Every peer is a socket this test opened on the
//! machine itself.

use std::io::ErrorKind;
use std::net::{TcpListener, UdpSocket};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixListener};
use std::process::Command;

use anyhow::Result;

use super::harness::*;

/// Whether the non-blocking `accept` finds a pending connection.
fn tcp_accepted(listener: &TcpListener) -> Result<bool> {
    listener.set_nonblocking(true)?;
    match listener.accept() {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == ErrorKind::WouldBlock => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// What a datagram socket received, without waiting.
fn datagram_received(socket: &UnixDatagram) -> Result<Option<String>> {
    socket.set_nonblocking(true)?;
    let mut buf = [0u8; 256];
    match socket.recv(&mut buf) {
        Ok(n) => Ok(Some(String::from_utf8_lossy(&buf[..n]).into_owned())),
        Err(err) if err.kind() == ErrorKind::WouldBlock => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// A bash line connecting to 127.0.0.1:`port` and printing `connected`.
fn tcp_twin(port: u16) -> String {
    format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected")
}

/// `ip link add <name> type bridge` through netlink, network on (needs
/// `CAP_NET_ADMIN`); a link that gets created is deleted again.
pub fn netlink_link_add(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let tail = &lab.nonce[lab.nonce.len().saturating_sub(10)..];
    let name = format!("cxa{tail}");
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let outcome = lab.run(
        WORKSPACE_NETWORK,
        vec![
            sh(format!("/usr/sbin/ip link add {name} type bridge")),
            sh(format!(
                "/usr/sbin/ip addr show lo | grep -q inet && {}",
                tcp_twin(port)
            )),
        ],
    )?;
    let created = Command::new("ip")
        .args(["link", "show", &name])
        .output()?
        .status
        .success();
    if created {
        let _ = Command::new("ip").args(["link", "del", &name]).status();
    }
    let verdict = Verdict::escaped_if(created, || {
        format!("created network interface {name} (deleted again)")
    });
    conclude(verdict, outcome.twin_ok(1, "connected"))
}

/// Raw IP and packet sockets, network on (needs `CAP_NET_RAW`).
pub fn raw_sockets(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let udp = UdpSocket::bind("127.0.0.1:0")?;
    let port = udp.local_addr()?.port();
    let outcome = lab.run(
        WORKSPACE_NETWORK,
        vec![
            sh(python(
                "try_op('raw_icmp', lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))\n\
                 try_op('raw_icmpv6', lambda: socket.socket(socket.AF_INET6, socket.SOCK_RAW, 58))\n\
                 try_op('packet', lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0x0300))",
            )),
            sh(python(&format!(
                "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
                 s.sendto(b'udp-ok', ('127.0.0.1', {port}))\n\
                 print('sent')"
            ))),
        ],
    )?;
    let verdict = probes_verdict(
        &outcome.command(0)?.output,
        &["raw_icmp", "raw_icmpv6", "packet"],
        &["EPERM"],
    )?;
    let twin = outcome.twin_ok(1, "sent").and_then(|()| {
        udp.set_nonblocking(true)?;
        let mut buf = [0u8; 16];
        let (n, _) = udp.recv_from(&mut buf)?;
        anyhow::ensure!(
            &buf[..n] == b"udp-ok",
            "the UDP twin's datagram did not arrive"
        );
        Ok(())
    });
    conclude(verdict, twin)
}

/// TCP to a local listener with the network off (bash's `/dev/tcp` and Python).
pub fn tcp_without_network(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let outcome = lab.run(
        WORKSPACE,
        vec![
            sh(format!(
                "{}; {}",
                tcp_twin(port),
                python(&format!(
                    "try_op('tcp', lambda: socket.create_connection(('127.0.0.1', {port}), timeout=5))"
                ))
            )),
            sh(python(
                "a, b = socket.socketpair()\n\
                 os.write(a.fileno(), b'pair-ok')\n\
                 print(os.read(b.fileno(), 16).decode())",
            )),
        ],
    )?;
    let verdict = Verdict::escaped_if(tcp_accepted(&listener)?, || {
        "the local listener saw a connection".into()
    });
    conclude(verdict, outcome.twin_ok(1, "pair-ok"))
}

/// Python sending one datagram with destination `address` (a Python literal) through
/// `sendmsg` (`sendto` is denied without network anyway).
fn send_datagram(address: &str, payload: &str) -> String {
    python(&format!(
        "try_op('dgram', lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\
         .sendmsg([b'{payload}'], [], 0, {address}))"
    ))
}

/// The benign twin of the datagram attacks: a message socketpair (`SOCK_SEQPACKET`;
/// datagram socketpairs are refused without network, since a datagram socket can
/// `sendmsg` to any address even when connected).
fn datagram_pair_twin() -> Step {
    sh(python(
        "a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n\
         os.write(a.fileno(), b'dgram-pair-ok')\n\
         print(os.read(b.fileno(), 32).decode())",
    ))
}

/// A unix datagram to a pathname socket the test listens on, network off.
pub fn unix_datagram_to_pathname_socket(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let path = lab.outside.join("dgram.sock");
    let socket = UnixDatagram::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))?;
    case.user.own(&path)?;
    let outcome = lab.run(
        READ_ONLY,
        vec![
            sh(send_datagram(&format!("'{}'", path.display()), "leak")),
            datagram_pair_twin(),
        ],
    )?;
    let received = datagram_received(&socket)?;
    let verdict = Verdict::escaped_if(received.is_some(), || {
        format!("the test's socket received {received:?}")
    });
    conclude(verdict, outcome.twin_ok(1, "dgram-pair-ok"))
}

/// A unix datagram to an abstract socket the test listens on, network off.
pub fn unix_datagram_to_abstract_socket(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let name = format!("codexatk-dgram-{}", lab.nonce);
    let socket = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes())?)?;
    let outcome = lab.run(
        READ_ONLY,
        vec![
            sh(send_datagram(&format!("b'\\0{name}'"), "leak")),
            datagram_pair_twin(),
        ],
    )?;
    let received = datagram_received(&socket)?;
    let verdict = Verdict::escaped_if(received.is_some(), || {
        format!("the test's socket received {received:?}")
    });
    conclude(verdict, outcome.twin_ok(1, "dgram-pair-ok"))
}

/// A stream connection to an abstract unix socket outside the sandbox (a session bus,
/// an agent), network on.
pub fn abstract_unix_connect_with_network(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let name = format!("codexatk-stream-{}", lab.nonce);
    let listener = UnixListener::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes())?)?;
    let tcp = TcpListener::bind("127.0.0.1:0")?;
    let port = tcp.local_addr()?.port();
    let outcome = lab.run(
        WORKSPACE_NETWORK,
        vec![
            sh(python(&format!(
                "def connect():\n\
                 \x20   s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n\
                 \x20   s.connect(b'\\0{name}')\n\
                 \x20   s.sendall(b'hello')\n\
                 try_op('abstract_connect', connect)"
            ))),
            sh(tcp_twin(port)),
        ],
    )?;
    listener.set_nonblocking(true)?;
    let accepted = match listener.accept() {
        Ok(_) => true,
        Err(err) if err.kind() == ErrorKind::WouldBlock => false,
        Err(err) => return Err(err.into()),
    };
    let verdict = Verdict::escaped_if(accepted, || {
        "the test's abstract socket accepted a connection".into()
    });
    conclude(verdict, outcome.twin_ok(1, "connected"))
}
