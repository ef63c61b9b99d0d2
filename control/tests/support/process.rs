//! Running the crate's binaries (nfdpctl and its tool links) as a test's child process.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Output of a finished command.
#[derive(Debug, PartialEq)]
pub struct Out {
    pub stdout: String,
    pub stderr: String,
    pub rc: i32,
}

/// Runs `cmd` with `input` on its stdin, without the NFDP_ADDRESS and NFDP_TOKEN_FILE of
/// the environment; a minute at most.
pub fn run(mut cmd: Command, input: &[u8]) -> Out {
    cmd.env_remove("NFDP_ADDRESS")
        .env_remove("NFDP_TOKEN_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    // A writer thread: a client that refuses its input early must not block the test.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = wait_output(child, Duration::from_secs(60));
    let _ = writer.join();
    out
}

/// Waits for a child with a deadline (a hung client fails the test instead of hanging it).
pub fn wait_output(mut child: Child, patience: Duration) -> Out {
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let o = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + patience;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command did not finish within {patience:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Out {
        stdout: String::from_utf8(o.join().unwrap()).expect("utf-8 stdout"),
        stderr: String::from_utf8(e.join().unwrap()).expect("utf-8 stderr"),
        rc: status.code().unwrap_or(-1),
    }
}
