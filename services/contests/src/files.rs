//! The productions' files: received as a stream, spooled to a temporary file while its
//! sha256 is computed and its size capped (never held whole in memory), its type read
//! from its first bytes (magic numbers, the `infer` crate), a video's duration read from
//! its MP4 container (`moov/mvhd`), then handed to a [`FileStore`] under its sha256.
//!
//! The store is content-addressed: the same content is stored once, whoever sends it.
//! [`DiskStore`] keeps files under `files_dir/sha256/<2 first hex digits>/<sha256>`,
//! writing each to `files_dir/tmp/` first and renaming it there (a rename is atomic on
//! one file system, so a half-written file is never seen under its hash).
//!
//! An S3-compatible store plugs in behind the same trait: `put` uploads the spooled file
//! (a `PutObject` of `sha256/<hash>` with `If-None-Match: *`, or a multipart upload above
//! a few tens of MiB) then removes it, `open` streams a `GetObject`, `delete` is a
//! `DeleteObject`. The spool directory stays local: the type and the duration are checked
//! on it before anything reaches the store. Only [`crate::TARGET`]'s start chooses the
//! implementation.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use axum::body::{Body, Bytes};
use futures::StreamExt;
use futures::future::BoxFuture;
use pharos_events::contest::FileType;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use uuid::Uuid;

/// How many first bytes the type is recognised from.
const HEAD: usize = 8192;

/// Where files are kept, by the sha256 of their content.
pub trait FileStore: Send + Sync + std::fmt::Debug {
    /// The directory uploads are spooled to before [`FileStore::put`].
    fn spool(&self) -> &Path;
    /// Moves the spooled file `from` into the store as `sha256`; `false` when the same
    /// content was stored already (then `from` is removed).
    fn put<'a>(&'a self, from: &'a Path, sha256: &'a str) -> BoxFuture<'a, std::io::Result<bool>>;
    /// The stored content, `None` when absent.
    fn open<'a>(
        &'a self,
        sha256: &'a str,
    ) -> BoxFuture<'a, std::io::Result<Option<tokio::fs::File>>>;
    /// Removes the content; `false` when it was not there.
    fn delete<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, std::io::Result<bool>>;
}

/// The embedded mode's store: a directory.
#[derive(Debug, Clone)]
pub struct DiskStore {
    root: PathBuf,
    spool: PathBuf,
}

impl DiskStore {
    /// The store under `root` (created when missing, with its spool directory).
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        let spool = root.join("tmp");
        std::fs::create_dir_all(&spool)?;
        std::fs::create_dir_all(root.join("sha256"))?;
        Ok(Self { root, spool })
    }

    /// Where content `sha256` is kept.
    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        valid_hash(sha256).then(|| self.root.join("sha256").join(&sha256[..2]).join(sha256))
    }
}

fn valid_hash(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn not_a_hash() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a sha256")
}

impl FileStore for DiskStore {
    fn spool(&self) -> &Path {
        &self.spool
    }

    fn put<'a>(&'a self, from: &'a Path, sha256: &'a str) -> BoxFuture<'a, std::io::Result<bool>> {
        Box::pin(async move {
            let target = self.path_of(sha256).ok_or_else(not_a_hash)?;
            if tokio::fs::try_exists(&target).await? {
                tokio::fs::remove_file(from).await?;
                return Ok(false);
            }
            if let Some(parent) = target.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            tokio::fs::rename(from, &target).await?;
            Ok(true)
        })
    }

    fn open<'a>(
        &'a self,
        sha256: &'a str,
    ) -> BoxFuture<'a, std::io::Result<Option<tokio::fs::File>>> {
        Box::pin(async move {
            let target = self.path_of(sha256).ok_or_else(not_a_hash)?;
            match tokio::fs::File::open(target).await {
                Ok(file) => Ok(Some(file)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn delete<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, std::io::Result<bool>> {
        Box::pin(async move {
            let target = self.path_of(sha256).ok_or_else(not_a_hash)?;
            match tokio::fs::remove_file(target).await {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e),
            }
        })
    }
}

/// Why an upload was refused before reaching the store (its spooled file removed).
#[derive(Debug)]
pub enum Refused {
    /// More than `limit` bytes were sent.
    TooLarge {
        limit: u64,
    },
    /// The content is of no known type.
    UnknownType,
    /// The content's type, and the type the request claims (header or file name).
    Mismatch {
        found: FileType,
        claimed: FileType,
    },
    /// The content is of a type the edition does not take.
    NotAllowed(FileType),
    /// The body ended with an error (the client went away).
    Interrupted,
    Io(std::io::Error),
}

impl From<std::io::Error> for Refused {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

/// A file spooled and checked, ready for the store.
#[derive(Debug)]
pub struct Spooled {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    pub file_type: FileType,
}

/// The type a file's first bytes show.
pub fn detect(head: &[u8]) -> Option<FileType> {
    let kind = infer::get(head)?;
    match kind.mime_type() {
        "image/png" => Some(FileType::Png),
        "image/jpeg" => Some(FileType::Jpeg),
        "application/pdf" => Some(FileType::Pdf),
        "video/mp4" | "video/quicktime" | "video/x-m4v" => Some(FileType::Mp4),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut text, b| {
        let _ = write!(text, "{b:02x}");
        text
    })
}

/// Streams `body` to a new file of `spool`: at most `limit` bytes, its type checked on
/// its first bytes against `claimed` and `allowed`. On any refusal the spooled file is
/// removed before this returns.
pub async fn spool(
    spool: &Path,
    body: Body,
    limit: u64,
    claimed: Option<FileType>,
    allowed: impl Fn(FileType) -> bool,
) -> Result<Spooled, Refused> {
    let path = spool.join(format!("{}.part", Uuid::now_v7().simple()));
    let result = receive(&path, body, limit, claimed, allowed).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&path).await;
    }
    result
}

async fn receive(
    path: &Path,
    body: Body,
    limit: u64,
    claimed: Option<FileType>,
    allowed: impl Fn(FileType) -> bool,
) -> Result<Spooled, Refused> {
    let mut file = tokio::fs::File::create(path).await?;
    let mut hasher = Sha256::new();
    let mut bytes: u64 = 0;
    let mut head: Vec<u8> = Vec::with_capacity(HEAD);
    let mut file_type: Option<FileType> = None;
    let check = |head: &[u8]| -> Result<FileType, Refused> {
        let found = detect(head).ok_or(Refused::UnknownType)?;
        if let Some(claimed) = claimed.filter(|c| *c != found) {
            return Err(Refused::Mismatch { found, claimed });
        }
        if !allowed(found) {
            return Err(Refused::NotAllowed(found));
        }
        Ok(found)
    };
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk: Bytes = chunk.map_err(|_| Refused::Interrupted)?;
        bytes += chunk.len() as u64;
        if bytes > limit {
            return Err(Refused::TooLarge { limit });
        }
        if file_type.is_none() {
            let wanted = HEAD - head.len();
            head.extend_from_slice(&chunk[..chunk.len().min(wanted)]);
            if head.len() == HEAD {
                file_type = Some(check(&head)?);
            }
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await?;
    }
    let file_type = match file_type {
        Some(found) => found,
        None => check(&head)?,
    };
    file.flush().await?;
    file.sync_all().await?;
    Ok(Spooled {
        path: path.to_owned(),
        sha256: hex(&hasher.finalize()),
        bytes,
        file_type,
    })
}

/// The duration in whole seconds (rounded up) of an MP4 (ISO base media) file, from the
/// `mvhd` box of its `moov` box: `None` when there is none or it is malformed.
///
/// Boxes are `size:u32be type:[u8;4]`, `size` 1 meaning a `u64be` size follows and 0
/// meaning « to the end of the file ». `mvhd` is `version:u8 flags:[u8;3]` then, for
/// version 0, `creation:u32 modification:u32 timescale:u32 duration:u32`, for version 1,
/// `creation:u64 modification:u64 timescale:u32 duration:u64`. Only box headers are read,
/// by seeking: a large `mdat` is skipped, not read.
pub async fn mp4_duration_seconds(path: &Path) -> std::io::Result<Option<u32>> {
    let mut file = tokio::fs::File::open(path).await?;
    let length = file.metadata().await?.len();
    let Some((moov_start, moov_end)) = find_box(&mut file, 0, length, b"moov").await? else {
        return Ok(None);
    };
    let Some((mvhd_start, mvhd_end)) = find_box(&mut file, moov_start, moov_end, b"mvhd").await?
    else {
        return Ok(None);
    };
    file.seek(SeekFrom::Start(mvhd_start)).await?;
    let mut version = [0u8; 4];
    file.read_exact(&mut version).await?;
    let (timescale, duration) = if version[0] == 1 {
        if mvhd_end - mvhd_start < 32 {
            return Ok(None);
        }
        file.seek(SeekFrom::Current(16)).await?;
        (u64::from(file.read_u32().await?), file.read_u64().await?)
    } else {
        if mvhd_end - mvhd_start < 20 {
            return Ok(None);
        }
        file.seek(SeekFrom::Current(8)).await?;
        (
            u64::from(file.read_u32().await?),
            u64::from(file.read_u32().await?),
        )
    };
    if timescale == 0 {
        return Ok(None);
    }
    Ok(u32::try_from(duration.div_ceil(timescale)).ok())
}

/// The content range of the first box `kind` between `start` and `end`.
async fn find_box(
    file: &mut tokio::fs::File,
    start: u64,
    end: u64,
    kind: &[u8; 4],
) -> std::io::Result<Option<(u64, u64)>> {
    let mut at = start;
    while at + 8 <= end {
        file.seek(SeekFrom::Start(at)).await?;
        let size = u64::from(file.read_u32().await?);
        let mut name = [0u8; 4];
        file.read_exact(&mut name).await?;
        let (header, size) = match size {
            0 => (8, end - at),
            1 => {
                if at + 16 > end {
                    return Ok(None);
                }
                (16, file.read_u64().await?)
            }
            n => (8, n),
        };
        if size < header || at + size > end {
            return Ok(None);
        }
        if &name == kind {
            return Ok(Some((at + header, at + size)));
        }
        at += size;
    }
    Ok(None)
}

/// A minimal MP4 of `seconds` (an `ftyp`, an empty `mdat`, a `moov` holding an `mvhd`):
/// for tests and documentation.
pub fn tiny_mp4(seconds: u32) -> Vec<u8> {
    let mut out = Vec::new();
    // ftyp: brand isom, minor version, compatible brands.
    out.extend_from_slice(&24u32.to_be_bytes());
    out.extend_from_slice(b"ftypisom");
    out.extend_from_slice(&512u32.to_be_bytes());
    out.extend_from_slice(b"isommp41");
    out.extend_from_slice(&8u32.to_be_bytes());
    out.extend_from_slice(b"mdat");
    let mut mvhd = Vec::new();
    mvhd.extend_from_slice(&[0, 0, 0, 0]);
    mvhd.extend_from_slice(&0u32.to_be_bytes());
    mvhd.extend_from_slice(&0u32.to_be_bytes());
    mvhd.extend_from_slice(&1000u32.to_be_bytes());
    mvhd.extend_from_slice(&(seconds * 1000).to_be_bytes());
    mvhd.extend_from_slice(&[0u8; 80]);
    let mvhd_size = 8 + mvhd.len() as u32;
    out.extend_from_slice(&(8 + mvhd_size).to_be_bytes());
    out.extend_from_slice(b"moov");
    out.extend_from_slice(&mvhd_size.to_be_bytes());
    out.extend_from_slice(b"mvhd");
    out.extend_from_slice(&mvhd);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pharos-files-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

    #[test]
    fn recognises_types_from_content() {
        assert_eq!(detect(PNG), Some(FileType::Png));
        assert_eq!(
            detect(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"),
            Some(FileType::Pdf)
        );
        assert_eq!(detect(&tiny_mp4(3)), Some(FileType::Mp4));
        assert_eq!(detect(b"hello"), None);
        assert_eq!(FileType::of_extension("affiche.PNG"), Some(FileType::Png));
    }

    #[tokio::test]
    async fn reads_an_mp4_duration_and_refuses_garbage() {
        let dir = scratch();
        let path = dir.join("v.mp4");
        std::fs::write(&path, tiny_mp4(95)).unwrap();
        assert_eq!(mp4_duration_seconds(&path).await.unwrap(), Some(95));
        std::fs::write(&path, b"\0\0\0\x08ftyp\0\0\xff\xffmoov").unwrap();
        assert_eq!(mp4_duration_seconds(&path).await.unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn stores_the_same_content_once_and_leaves_nothing_of_a_refused_upload() {
        let dir = scratch();
        let store = DiskStore::open(&dir).unwrap();
        let body = || Body::from(PNG.to_vec());
        let first = spool(store.spool(), body(), 1000, Some(FileType::Png), |_| true)
            .await
            .unwrap();
        assert_eq!(first.bytes, PNG.len() as u64);
        assert!(store.put(&first.path, &first.sha256).await.unwrap());
        let second = spool(store.spool(), body(), 1000, None, |_| true)
            .await
            .unwrap();
        assert!(!store.put(&second.path, &second.sha256).await.unwrap());
        assert!(store.open(&first.sha256).await.unwrap().is_some());
        for (limit, claimed, allowed, expected) in [
            (10, None, true, "TooLarge"),
            (1000, Some(FileType::Pdf), true, "Mismatch"),
            (1000, None, false, "NotAllowed"),
        ] {
            let refused = spool(store.spool(), body(), limit, claimed, |_| allowed)
                .await
                .unwrap_err();
            assert!(format!("{refused:?}").starts_with(expected), "{refused:?}");
        }
        assert_eq!(std::fs::read_dir(store.spool()).unwrap().count(), 0);
        assert!(store.delete(&first.sha256).await.unwrap());
        assert!(!store.delete(&first.sha256).await.unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
