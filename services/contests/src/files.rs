//! The productions' files: received as a stream, spooled to a temporary file while its
//! sha256 is computed and its size capped (never held whole in memory), its type read
//! from its first bytes (magic numbers, the `infer` crate), a video's duration read from
//! its container (MP4: `moov/mvhd`; WebM: `Segment/Info`), then handed to a
//! [`FileStore`] under its sha256.
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
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt, AsyncWriteExt};
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
        "video/webm" => Some(FileType::Webm),
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

/// The duration in whole seconds (rounded up) of a video of type `file_type`, read from
/// its container: `None` when it is not a video, or its duration cannot be read.
pub async fn video_duration_seconds(
    path: &Path,
    file_type: FileType,
) -> std::io::Result<Option<u32>> {
    match file_type {
        FileType::Mp4 => mp4_duration_seconds(path).await,
        FileType::Webm => {
            let mut file = tokio::fs::File::open(path).await?;
            let length = file.metadata().await?.len();
            webm_duration_seconds(&mut file, length).await
        }
        FileType::Png | FileType::Jpeg | FileType::Pdf => Ok(None),
    }
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

/// EBML identifiers (RFC 8794) of the Matroska elements (RFC 9559) the duration is read
/// from; an identifier keeps its length-marker bit.
const EBML_HEADER: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const CLUSTER: u32 = 0x1F43_B675;
const TIMESTAMP_SCALE: u32 = 0x002A_D7B1;
const DURATION: u32 = 0x4489;
/// `TimestampScale` when absent: a tick is a millisecond.
const DEFAULT_TIMESTAMP_SCALE: u64 = 1_000_000;
/// Elements looked at on one level before giving up: `Info` comes among a segment's first
/// few children (after `SeekHead`, maybe a `Void`), so a file of many tiny elements is
/// refused instead of being walked through.
const MAX_SIBLINGS: usize = 64;

/// An element's header: its identifier and where its content lies.
#[derive(Debug, Clone, Copy)]
struct Element {
    id: u32,
    start: u64,
    /// Where the content ends: the parent's end when the size is « unknown ».
    end: u64,
    unknown_size: bool,
}

/// An EBML variable-size integer at the start of `bytes`, at most `max` bytes long: its
/// length is one plus the count of leading zeros of its first byte; answers the value
/// with its marker bit (as identifiers are written) and the length.
fn vint(bytes: &[u8], max: usize) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    let length = first.leading_zeros() as usize + 1;
    if length > max || bytes.len() < length {
        return None;
    }
    let value = bytes[..length]
        .iter()
        .fold(0u64, |value, b| (value << 8) | u64::from(*b));
    Some((value, length))
}

/// The header of the element at `at`, whose content must end by `end`: `None` when there
/// is none or it is malformed (an identifier over 4 bytes, a size over 8, a content
/// running past its parent).
async fn element<R: AsyncRead + AsyncSeek + Unpin>(
    file: &mut R,
    at: u64,
    end: u64,
) -> std::io::Result<Option<Element>> {
    if at >= end {
        return Ok(None);
    }
    let mut header = [0u8; 12];
    let available = usize::try_from((end - at).min(12)).unwrap_or(12);
    file.seek(SeekFrom::Start(at)).await?;
    file.read_exact(&mut header[..available]).await?;
    let header = &header[..available];
    let Some((id, id_length)) = vint(header, 4) else {
        return Ok(None);
    };
    let Some((size, size_length)) = vint(&header[id_length..], 8) else {
        return Ok(None);
    };
    let value_bits = 7 * size_length as u32;
    let size = size - (1u64 << value_bits);
    let start = at + (id_length + size_length) as u64;
    // All value bits set: the size is unknown (a live recording), the content runs to
    // the parent's end.
    let unknown_size = size == (1u64 << value_bits) - 1;
    let end = if unknown_size {
        end
    } else {
        match start.checked_add(size) {
            Some(content_end) if content_end <= end => content_end,
            _ => return Ok(None),
        }
    };
    Ok(Some(Element {
        id: u32::try_from(id).unwrap_or(0),
        start,
        end,
        unknown_size,
    }))
}

/// The first child `id` of the content from `start` to `end`, looking at no more than
/// [`MAX_SIBLINGS`] elements and stopping at a `Cluster` (the media data: `Info` comes
/// before it) or at an element of unknown size (it cannot be skipped).
async fn find_element<R: AsyncRead + AsyncSeek + Unpin>(
    file: &mut R,
    start: u64,
    end: u64,
    id: u32,
) -> std::io::Result<Option<Element>> {
    let mut at = start;
    for _ in 0..MAX_SIBLINGS {
        let Some(found) = element(file, at, end).await? else {
            return Ok(None);
        };
        if found.id == id {
            return Ok(Some(found));
        }
        if found.id == CLUSTER || found.unknown_size {
            return Ok(None);
        }
        at = found.end;
    }
    Ok(None)
}

/// The content of `element`, a number of at most 8 bytes (`None` when longer).
async fn content<R: AsyncRead + AsyncSeek + Unpin>(
    file: &mut R,
    element: Element,
) -> std::io::Result<Option<([u8; 8], usize)>> {
    let Ok(length @ 0..=8) = usize::try_from(element.end - element.start) else {
        return Ok(None);
    };
    if element.unknown_size {
        return Ok(None);
    }
    let mut bytes = [0u8; 8];
    file.seek(SeekFrom::Start(element.start)).await?;
    file.read_exact(&mut bytes[..length]).await?;
    Ok(Some((bytes, length)))
}

/// The duration in whole seconds of a WebM (Matroska) file of `length` bytes: `None` when
/// it cannot be read.
///
/// The file is a tree of EBML elements, each `id` (a variable-size integer of 1 to 4
/// bytes, marker kept) then `size` (1 to 8 bytes, marker dropped; all ones meaning
/// « unknown », to the parent's end) then the content. The EBML header comes first, then
/// the `Segment`, whose `Info` holds `TimestampScale` (an unsigned integer, nanoseconds
/// per tick, 1,000,000 when absent) and `Duration` (a float of 4 or 8 bytes, in ticks,
/// greater than 0). Only element headers and these two values are read, by seeking: the
/// media data is never read. A file without `Duration` (some live recordings, as a
/// browser's `MediaRecorder` writes them) is `None`. The duration is taken to the
/// millisecond (a float's last digits are noise), then rounded up to the second.
pub async fn webm_duration_seconds<R: AsyncRead + AsyncSeek + Unpin>(
    file: &mut R,
    length: u64,
) -> std::io::Result<Option<u32>> {
    let Some(header) = element(file, 0, length).await? else {
        return Ok(None);
    };
    if header.id != EBML_HEADER || header.unknown_size {
        return Ok(None);
    }
    let Some(segment) = find_element(file, header.end, length, SEGMENT).await? else {
        return Ok(None);
    };
    let Some(info) = find_element(file, segment.start, segment.end, INFO).await? else {
        return Ok(None);
    };
    let mut scale = DEFAULT_TIMESTAMP_SCALE;
    let mut duration = None;
    let mut at = info.start;
    for _ in 0..MAX_SIBLINGS {
        let Some(child) = element(file, at, info.end).await? else {
            break;
        };
        if child.unknown_size {
            return Ok(None);
        }
        match child.id {
            TIMESTAMP_SCALE => {
                let Some((bytes, length)) = content(file, child).await? else {
                    return Ok(None);
                };
                scale = bytes[..length]
                    .iter()
                    .fold(0u64, |value, b| (value << 8) | u64::from(*b));
            }
            DURATION => {
                duration = match content(file, child).await? {
                    Some((bytes, 4)) => Some(f64::from(f32::from_be_bytes([
                        bytes[0], bytes[1], bytes[2], bytes[3],
                    ]))),
                    Some((bytes, 8)) => Some(f64::from_be_bytes(bytes)),
                    _ => return Ok(None),
                };
            }
            _ => {}
        }
        at = child.end;
    }
    Ok(duration.and_then(|ticks| whole_seconds(ticks, scale)))
}

/// `ticks` of `scale` nanoseconds in whole seconds, rounded up from the millisecond.
fn whole_seconds(ticks: f64, scale: u64) -> Option<u32> {
    if scale == 0 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)] // a scale is far below 2^52
    let milliseconds = (ticks * scale as f64 / 1e6).round();
    if !(milliseconds > 0.0 && milliseconds <= f64::from(u32::MAX)) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // in range, checked
    let milliseconds = milliseconds as u64;
    u32::try_from(milliseconds.div_ceil(1000)).ok()
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

    /// A real WebM of 2 s (VP9, 32×32, made with ffmpeg: see `tests/http/webm.rs`).
    const WEBM_2S: &[u8] = include_bytes!("../tests/fixtures/clip-2s.webm");
    /// A real WebM of 121 s (VP9, 16×16, 1 image/s).
    const WEBM_121S: &[u8] = include_bytes!("../tests/fixtures/clip-121s.webm");

    async fn webm(bytes: &[u8]) -> Option<u32> {
        let mut cursor = std::io::Cursor::new(bytes);
        webm_duration_seconds(&mut cursor, bytes.len() as u64)
            .await
            .expect("a cursor never fails")
    }

    /// An EBML element: `id` (marker included, as written), a size of `size_length`
    /// bytes, the content.
    fn ebml(id: &[u8], content: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.push(0x01); // an 8-byte size, as muxers write a segment's
        out.extend_from_slice(&(content.len() as u64).to_be_bytes()[1..]);
        out.extend_from_slice(content);
        out
    }

    /// A WebM skeleton: the EBML header, a segment holding `info` then a cluster.
    fn skeleton(info: &[u8]) -> Vec<u8> {
        let mut segment = ebml(&[0xEC], &[0; 16]); // a Void first, as muxers reserve
        segment.extend(ebml(&[0x15, 0x49, 0xA9, 0x66], info));
        segment.extend(ebml(&[0x1F, 0x43, 0xB6, 0x75], &[0; 32]));
        let mut out = ebml(&[0x1A, 0x45, 0xDF, 0xA3], &ebml(&[0x42, 0x82], b"webm"));
        out.extend(ebml(&[0x18, 0x53, 0x80, 0x67], &segment));
        out
    }

    #[tokio::test]
    async fn reads_a_webm_duration_from_its_segment_info() {
        assert_eq!(detect(WEBM_2S), Some(FileType::Webm));
        assert_eq!(webm(WEBM_2S).await, Some(2));
        assert_eq!(webm(WEBM_121S).await, Some(121));
        // Through the file, as an upload is read.
        let dir = scratch();
        let path = dir.join("v.webm");
        std::fs::write(&path, WEBM_121S).unwrap();
        assert_eq!(
            video_duration_seconds(&path, FileType::Webm).await.unwrap(),
            Some(121)
        );
        std::fs::remove_dir_all(dir).unwrap();

        let duration = |seconds: f64| ebml(&[0x44, 0x89], &(seconds * 1000.0).to_be_bytes());
        // No TimestampScale: a tick is a millisecond; 90.2 s is 91 s begun.
        assert_eq!(webm(&skeleton(&duration(90.2))).await, Some(91));
        // 120 s written with a float's noise is 120 s, not 121.
        let noisy = ebml(&[0x44, 0x89], &(120_000.000_000_1f64).to_be_bytes());
        assert_eq!(webm(&skeleton(&noisy)).await, Some(120));
        // A 4-byte float, ticks of 10 ms.
        let mut info = ebml(&[0x2A, 0xD7, 0xB1], &10_000_000u32.to_be_bytes());
        info.extend(ebml(&[0x44, 0x89], &1500f32.to_be_bytes()));
        assert_eq!(webm(&skeleton(&info)).await, Some(15));
    }

    #[tokio::test]
    async fn refuses_webm_without_a_readable_duration_and_never_panics() {
        let duration = ebml(&[0x44, 0x89], &2000f64.to_be_bytes());
        let scale = |scale: &[u8]| {
            let mut info = ebml(&[0x2A, 0xD7, 0xB1], scale);
            info.extend_from_slice(&duration);
            info
        };
        for (case, bytes) in [
            ("empty", Vec::new()),
            (
                "no Duration",
                skeleton(&ebml(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40])),
            ),
            ("zero scale", skeleton(&scale(&[0]))),
            ("scale of 9 bytes", skeleton(&scale(&[1; 9]))),
            (
                "2-byte Duration",
                skeleton(&ebml(&[0x44, 0x89], &[0x40, 0x00])),
            ),
            (
                "negative",
                skeleton(&ebml(&[0x44, 0x89], &(-5f64).to_be_bytes())),
            ),
            (
                "NaN",
                skeleton(&ebml(&[0x44, 0x89], &f64::NAN.to_be_bytes())),
            ),
            (
                "infinite",
                skeleton(&ebml(&[0x44, 0x89], &f64::INFINITY.to_be_bytes())),
            ),
            (
                "huge",
                skeleton(&ebml(&[0x44, 0x89], &1e300f64.to_be_bytes())),
            ),
            ("an MP4", tiny_mp4(3)),
            ("zeros", vec![0; 64]),
        ] {
            assert_eq!(webm(&bytes).await, None, "{case}");
        }
        // Info after the first cluster, or a segment claiming more than the file holds.
        let mut late = skeleton(&duration);
        let info_at = late
            .windows(4)
            .position(|w| w == [0x15, 0x49, 0xA9, 0x66])
            .unwrap();
        late[info_at..info_at + 4].copy_from_slice(&[0x1F, 0x43, 0xB6, 0x75]);
        assert_eq!(webm(&late).await, None, "Info after a cluster");
        let mut oversized = skeleton(&duration);
        let segment_at = oversized
            .windows(4)
            .position(|w| w == [0x18, 0x53, 0x80, 0x67])
            .unwrap();
        oversized[segment_at + 5] = 0x7F;
        assert_eq!(webm(&oversized).await, None, "segment past the end");
        // A segment of unknown size (a live recording) still has its Info read.
        let mut live = skeleton(&duration);
        live[segment_at + 4..segment_at + 12]
            .copy_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(webm(&live).await, Some(2), "unknown-size segment");
        // Every truncation and every single-byte change of a real file: an answer, no
        // panic, never an error; a truncated file has its duration only if its Info
        // is whole.
        for cut in 0..WEBM_2S.len() {
            let answer = webm(&WEBM_2S[..cut]).await;
            assert!(
                answer.is_none() || answer == Some(2),
                "cut at {cut}: {answer:?}"
            );
        }
        for at in 0..WEBM_2S.len().min(400) {
            for value in [0x00, 0x01, 0x7F, 0x80, 0xFF] {
                let mut bytes = WEBM_2S.to_vec();
                bytes[at] = value;
                let _ = webm(&bytes).await;
            }
        }
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
