//! `tailgrant keygen`, and reading the key files it writes.

use super::{fail, read_input, Status};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use tailgrant::relay::keys::{public_text, DiscoKeyPair};

/// Arguments of `keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Write the private key (`privkey:<64 hex>`) to FILE, readable by its owner only
    /// (mode 0600). Without it the private key is printed on standard output, before the
    /// public key.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long, requires = "output")]
    force: bool,
    /// Generate nothing: print the public key of the existing private key FILE.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["output", "force"])]
    public: Option<PathBuf>,
}

/// Runs `keygen`: prints the public key as `discokey:<64 hex>`.
pub fn run(args: &KeygenArgs) -> Status {
    if let Some(path) = &args.public {
        return match read_key(path) {
            Ok(keys) => {
                println!("{}", public_text(keys.public()));
                Status::Clean
            }
            Err(e) => fail(&e),
        };
    }
    let keys = DiscoKeyPair::generate();
    match &args.output {
        None => out!("{}", keys.private_text()),
        Some(path) => {
            if let Err(e) = write_private(path, &keys.private_text(), args.force) {
                return fail(&e);
            }
        }
    }
    outln!("{}", public_text(keys.public()));
    Status::Clean
}

fn write_private(path: &Path, text: &str, force: bool) -> Result<(), String> {
    let shown = path.display();
    if force {
        // A temporary file created 0600, synced, then renamed over the old key: a failed
        // write leaves the old key as it was, and the new file is owner-only even when the
        // old one was readable by others.
        return tailgrant::fsutil::write_private(path, text.as_bytes())
            .map_err(|e| format!("cannot replace {shown}: {e}"));
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!("{shown} exists: pass --force to replace it")
        } else {
            format!("cannot create {shown}: {e}")
        }
    })?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        // The file is ours (just created): a truncated key must not stay behind.
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(format!("cannot write {shown}: {e}"));
    }
    Ok(())
}

/// Reads a private key file written by `keygen`.
pub fn read_key(path: &Path) -> Result<DiscoKeyPair, String> {
    let bytes = read_input(path)?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    DiscoKeyPair::from_private_text(&text)
        .map_err(|e| format!("{}: not a disco private key: {e}", path.display()))
}
