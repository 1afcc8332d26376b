//! A real, playable MP4 file for the sandbox's "generated videos", written by hand with `std`
//! alone. There is no encoder: the H.264 stream is built bit by bit from a Baseline-profile
//! SPS/PPS and one IDR slice per frame whose macroblocks are all `I_PCM` (raw 8-bit YUV 4:2:0
//! samples), which any H.264 decoder plays. The picture is a rainbow that scrolls one full turn
//! over the clip, darker towards the bottom, with a white progress bar along the bottom edge.
//! The file is laid out for fast start (`ftyp`, `moov`, `mdat`) and can be padded with a
//! trailing `free` box to an exact size, even several GiB, which [`Mp4::read_at`] produces on
//! the fly so that only the small prefix (a few tens of KiB) is ever held in memory.

/// Timescale of the movie and of the media: milliseconds.
const TIMESCALE: u32 = 1000;
/// At most this many frames, one per second of the clip, so the prefix stays small.
const MAX_FRAMES: u32 = 10;
/// Width and height are clamped to `2..=MAX_DIMENSION` (and rounded up to even numbers).
const MAX_DIMENSION: u32 = 4096;
/// Durations are clamped to `1..=MAX_DURATION_SECS` so that they fit version-0 boxes.
const MAX_DURATION_SECS: u32 = 86_400;
/// `log2_max_frame_num_minus4` is 0: `frame_num` takes 4 bits.
const FRAME_NUM_BITS: u32 = 4;
/// H.264 Baseline profile, with `constraint_set0_flag` and `constraint_set1_flag` set
/// (Constrained Baseline).
const PROFILE_IDC: u8 = 66;
const CONSTRAINT_FLAGS: u8 = 0xC0;
/// Level 3.0.
const LEVEL_IDC: u8 = 30;
/// `mb_type` of an `I_PCM` macroblock in an I slice.
const MB_TYPE_I_PCM: u32 = 25;

/// What to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VideoSpec {
    /// Display width in pixels (rounded up to an even number, clamped to `2..=4096`).
    pub(crate) width: u32,
    /// Display height in pixels (rounded up to an even number, clamped to `2..=4096`).
    pub(crate) height: u32,
    /// Length of the clip; the container's duration equals it exactly (0 is rendered as 1).
    pub(crate) duration_secs: u32,
    /// If set and larger than the natural size, the file is padded to exactly this many bytes.
    pub(crate) target_size: Option<u64>,
}

impl VideoSpec {
    /// A small video of the given aspect ratio: `"16:9"` is 64×36, `"9:16"` is 36×64, `"1:1"`
    /// is 64×64, and anything else falls back to 16:9.
    pub(crate) fn for_aspect_ratio(aspect_ratio: &str, duration_secs: u32) -> Self {
        let (width, height) = match aspect_ratio.trim() {
            "9:16" => (36, 64),
            "1:1" => (64, 64),
            _ => (64, 36),
        };
        Self {
            width,
            height,
            duration_secs,
            target_size: None,
        }
    }
}

/// A rendered file that can be read at any offset without holding the padding in memory.
///
/// Everything past `prefix` (the padding of the `free` box, or the few bytes that lengthen
/// `mdat` when the gap is too small for a box) is zeros.
#[derive(Debug, Clone)]
pub(crate) struct Mp4 {
    /// `ftyp`, `moov`, `mdat` and, when padded, the header of the trailing `free` box.
    prefix: Vec<u8>,
    /// Total size of the file.
    len: u64,
}

impl Mp4 {
    /// Renders `spec`.
    pub(crate) fn new(spec: &VideoSpec) -> Mp4 {
        let geometry = Geometry::new(spec.width, spec.height);
        let duration_secs = spec.duration_secs.clamp(1, MAX_DURATION_SECS);
        let frames = duration_secs.min(MAX_FRAMES);
        let track = Track {
            duration: duration_secs * TIMESCALE,
            sample_deltas: sample_deltas(duration_secs * TIMESCALE, frames),
            samples: (0..frames)
                .map(|frame| sample(&geometry, frame, frames))
                .collect(),
            sps: nal_unit(0x67, &sps(&geometry)),
            pps: nal_unit(0x68, &pps()),
            geometry,
        };

        let ftyp = ftyp();
        // The chunk offset is a fixed-size field, so `moov` has the same size whatever it holds.
        let moov_len = moov(&track, 0).len();
        let mdat_payload_offset = ftyp.len() + moov_len + 8;
        let moov = moov(&track, size32(mdat_payload_offset));
        let payload_len: usize = track.samples.iter().map(Vec::len).sum();
        let natural = (mdat_payload_offset + payload_len) as u64;

        let gap = spec
            .target_size
            .map_or(0, |target| target.saturating_sub(natural));
        // A box needs at least 8 bytes; a smaller gap lengthens `mdat` with unreferenced zeros.
        let (mdat_extra, free_header) = if gap < 8 {
            (gap, Vec::new())
        } else if let Ok(size) = u32::try_from(gap) {
            (0, [&size.to_be_bytes()[..], b"free"].concat())
        } else {
            (
                0,
                [&1_u32.to_be_bytes()[..], b"free", &gap.to_be_bytes()].concat(),
            )
        };

        let mut prefix = Vec::with_capacity(mdat_payload_offset + payload_len + free_header.len());
        prefix.extend_from_slice(&ftyp);
        prefix.extend_from_slice(&moov);
        let mdat_size = (8 + payload_len) as u64 + mdat_extra;
        prefix.extend_from_slice(&u32::try_from(mdat_size).unwrap_or(u32::MAX).to_be_bytes());
        prefix.extend_from_slice(b"mdat");
        for sample in &track.samples {
            prefix.extend_from_slice(sample);
        }
        prefix.extend_from_slice(&free_header);
        Mp4 {
            prefix,
            len: natural + gap,
        }
    }

    /// Total size of the file in bytes (the target size when padded).
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Fills `buf` with the file's bytes from `offset` on and returns how many were written:
    /// `buf.len()`, fewer at the end of the file, 0 at or past it.
    pub(crate) fn read_at(&self, offset: u64, buf: &mut [u8]) -> usize {
        let Some(remaining) = self.len.checked_sub(offset).filter(|&n| n > 0) else {
            return 0;
        };
        let n = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
        let out = &mut buf[..n];
        let from_prefix = usize::try_from(offset)
            .ok()
            .and_then(|start| self.prefix.get(start..))
            .unwrap_or_default();
        let copied = from_prefix.len().min(n);
        out[..copied].copy_from_slice(&from_prefix[..copied]);
        out[copied..].fill(0);
        n
    }
}

/// Display and coded sizes.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    width: u32,
    height: u32,
    mbs_wide: u32,
    mbs_high: u32,
}

impl Geometry {
    fn new(width: u32, height: u32) -> Self {
        // 4:2:0 crops in steps of 2 pixels, so the display size must be even.
        let even = |n: u32| n.clamp(2, MAX_DIMENSION).next_multiple_of(2);
        let (width, height) = (even(width), even(height));
        Self {
            width,
            height,
            mbs_wide: width.div_ceil(16),
            mbs_high: height.div_ceil(16),
        }
    }

    fn coded_width(&self) -> u32 {
        self.mbs_wide * 16
    }

    fn coded_height(&self) -> u32 {
        self.mbs_high * 16
    }
}

/// What `moov` describes.
struct Track {
    geometry: Geometry,
    /// In [`TIMESCALE`] units.
    duration: u32,
    /// Sample durations, in [`TIMESCALE`] units, as `stts` runs: (count, delta).
    sample_deltas: Vec<(u32, u32)>,
    /// Each sample: one IDR slice NAL unit behind a 4-byte length.
    samples: Vec<Vec<u8>>,
    /// SPS and PPS NAL units (header byte included, no length prefix).
    sps: Vec<u8>,
    pps: Vec<u8>,
}

/// Splits `duration` over `frames` samples; the last one absorbs the remainder so that the
/// deltas add up to `duration` exactly.
fn sample_deltas(duration: u32, frames: u32) -> Vec<(u32, u32)> {
    let frames = frames.max(1);
    let delta = duration / frames;
    let last = duration - delta * (frames - 1);
    if last == delta {
        vec![(frames, delta)]
    } else if frames == 1 {
        vec![(1, last)]
    } else {
        vec![(frames - 1, delta), (1, last)]
    }
}

// ---------------------------------------------------------------------------------------------
// The picture.

/// One frame as 8-bit Y, Cb and Cr planes of the coded size (4:2:0).
struct Planes {
    luma: Vec<u8>,
    cb: Vec<u8>,
    cr: Vec<u8>,
}

/// Colour of display pixel (`x`, `y`) in frame `frame` of `frames`, as BT.601 limited-range
/// Y, Cb, Cr.
fn pixel(geometry: &Geometry, frame: u32, frames: u32, x: u32, y: u32) -> [f32; 3] {
    let (w, h) = (geometry.width as f32, geometry.height as f32);
    let (x, y) = (x.min(geometry.width - 1), y.min(geometry.height - 1));
    let bar_height = (geometry.height / 8).max(2);
    let rgb = if y >= geometry.height - bar_height {
        let filled =
            u64::from(x) * u64::from(frames) < u64::from(geometry.width) * u64::from(frame + 1);
        if filled { [1.0; 3] } else { [0.12; 3] }
    } else {
        let hue = x as f32 / w + frame as f32 / frames as f32;
        let value = 1.0 - 0.6 * (y as f32 / h);
        rainbow(hue).map(|c| c * value)
    };
    let [r, g, b] = rgb;
    [
        16.0 + 65.481 * r + 128.553 * g + 24.966 * b,
        128.0 - 37.797 * r - 74.203 * g + 112.0 * b,
        128.0 + 112.0 * r - 93.786 * g - 18.214 * b,
    ]
}

/// Fully saturated RGB (each in `0.0..=1.0`) of `hue`, in turns.
fn rainbow(hue: f32) -> [f32; 3] {
    let h = hue.rem_euclid(1.0) * 6.0;
    let f = h.fract();
    match h as u32 {
        0 => [1.0, f, 0.0],
        1 => [1.0 - f, 1.0, 0.0],
        2 => [0.0, 1.0, f],
        3 => [0.0, 1.0 - f, 1.0],
        4 => [f, 0.0, 1.0],
        _ => [1.0, 0.0, 1.0 - f],
    }
}

fn planes(geometry: &Geometry, frame: u32, frames: u32) -> Planes {
    let (cw, ch) = (geometry.coded_width(), geometry.coded_height());
    let to_byte = |v: f32, max: f32| v.round().clamp(16.0, max) as u8;
    let mut luma = Vec::with_capacity((cw * ch) as usize);
    for y in 0..ch {
        for x in 0..cw {
            luma.push(to_byte(pixel(geometry, frame, frames, x, y)[0], 235.0));
        }
    }
    let mut cb = Vec::with_capacity((cw * ch / 4) as usize);
    let mut cr = Vec::with_capacity((cw * ch / 4) as usize);
    for y in 0..ch / 2 {
        for x in 0..cw / 2 {
            let mut sum = [0.0_f32; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = pixel(geometry, frame, frames, 2 * x + dx, 2 * y + dy);
                sum.iter_mut().zip(p).for_each(|(s, v)| *s += v / 4.0);
            }
            cb.push(to_byte(sum[1], 240.0));
            cr.push(to_byte(sum[2], 240.0));
        }
    }
    Planes { luma, cb, cr }
}

// ---------------------------------------------------------------------------------------------
// H.264.

/// Writes an RBSP most significant bit first.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    current: u8,
    used: u32,
}

impl BitWriter {
    fn bit(&mut self, bit: bool) {
        self.current = (self.current << 1) | u8::from(bit);
        self.used += 1;
        if self.used == 8 {
            self.bytes.push(self.current);
            self.current = 0;
            self.used = 0;
        }
    }

    /// `u(n)`: the low `n` bits of `value`.
    fn bits(&mut self, value: u32, n: u32) {
        for i in (0..n).rev() {
            self.bit((value >> i) & 1 == 1);
        }
    }

    /// `ue(v)`: unsigned Exp-Golomb.
    fn ue(&mut self, value: u32) {
        let coded = u64::from(value) + 1;
        let len = 64 - coded.leading_zeros();
        for _ in 1..len {
            self.bit(false);
        }
        for i in (0..len).rev() {
            self.bit((coded >> i) & 1 == 1);
        }
    }

    /// `se(v)`: signed Exp-Golomb.
    fn se(&mut self, value: i32) {
        let mapped = if value > 0 {
            2 * value.unsigned_abs() - 1
        } else {
            2 * value.unsigned_abs()
        };
        self.ue(mapped);
    }

    /// Zero bits up to the next byte boundary (`pcm_alignment_zero_bit`).
    fn align_with_zeros(&mut self) {
        while self.used != 0 {
            self.bit(false);
        }
    }

    /// Whole bytes; the writer must be byte-aligned.
    fn bytes(&mut self, bytes: &[u8]) {
        debug_assert_eq!(self.used, 0, "bytes written off a byte boundary");
        self.bytes.extend_from_slice(bytes);
    }

    /// `rbsp_trailing_bits()`, then the RBSP.
    fn finish(mut self) -> Vec<u8> {
        self.bit(true);
        self.align_with_zeros();
        self.bytes
    }
}

/// Sequence parameter set RBSP: Constrained Baseline, POC type 2, cropped to the display size.
fn sps(geometry: &Geometry) -> Vec<u8> {
    let mut w = BitWriter::default();
    w.bits(u32::from(PROFILE_IDC), 8);
    w.bits(u32::from(CONSTRAINT_FLAGS), 8);
    w.bits(u32::from(LEVEL_IDC), 8);
    w.ue(0); // seq_parameter_set_id
    w.ue(FRAME_NUM_BITS - 4); // log2_max_frame_num_minus4
    w.ue(2); // pic_order_cnt_type: output order is decoding order
    w.ue(1); // max_num_ref_frames
    w.bit(false); // gaps_in_frame_num_value_allowed_flag
    w.ue(geometry.mbs_wide - 1); // pic_width_in_mbs_minus1
    w.ue(geometry.mbs_high - 1); // pic_height_in_map_units_minus1
    w.bit(true); // frame_mbs_only_flag
    w.bit(true); // direct_8x8_inference_flag
    let crop_right = (geometry.coded_width() - geometry.width) / 2;
    let crop_bottom = (geometry.coded_height() - geometry.height) / 2;
    let cropping = crop_right != 0 || crop_bottom != 0;
    w.bit(cropping); // frame_cropping_flag
    if cropping {
        w.ue(0); // frame_crop_left_offset
        w.ue(crop_right); // frame_crop_right_offset, in units of 2 pixels
        w.ue(0); // frame_crop_top_offset
        w.ue(crop_bottom); // frame_crop_bottom_offset, in units of 2 rows
    }
    w.bit(false); // vui_parameters_present_flag
    w.finish()
}

/// Picture parameter set RBSP: CAVLC, one slice group, deblocking control present.
fn pps() -> Vec<u8> {
    let mut w = BitWriter::default();
    w.ue(0); // pic_parameter_set_id
    w.ue(0); // seq_parameter_set_id
    w.bit(false); // entropy_coding_mode_flag: CAVLC
    w.bit(false); // bottom_field_pic_order_in_frame_present_flag
    w.ue(0); // num_slice_groups_minus1
    w.ue(0); // num_ref_idx_l0_default_active_minus1
    w.ue(0); // num_ref_idx_l1_default_active_minus1
    w.bit(false); // weighted_pred_flag
    w.bits(0, 2); // weighted_bipred_idc
    w.se(0); // pic_init_qp_minus26
    w.se(0); // pic_init_qs_minus26
    w.se(0); // chroma_qp_index_offset
    w.bit(true); // deblocking_filter_control_present_flag
    w.bit(false); // constrained_intra_pred_flag
    w.bit(false); // redundant_pic_cnt_present_flag
    w.finish()
}

/// RBSP of an IDR slice covering the whole picture with `I_PCM` macroblocks.
fn idr_slice(geometry: &Geometry, planes: &Planes, idr_pic_id: u32) -> Vec<u8> {
    let mut w = BitWriter::default();
    w.ue(0); // first_mb_in_slice
    w.ue(7); // slice_type: I, as are all slices of the picture
    w.ue(0); // pic_parameter_set_id
    w.bits(0, FRAME_NUM_BITS); // frame_num: 0 in an IDR picture
    w.ue(idr_pic_id); // differs between consecutive IDR pictures
    w.bit(false); // no_output_of_prior_pics_flag
    w.bit(false); // long_term_reference_flag
    w.se(0); // slice_qp_delta
    w.ue(1); // disable_deblocking_filter_idc: off
    let cw = geometry.coded_width() as usize;
    for mb_y in 0..geometry.mbs_high as usize {
        for mb_x in 0..geometry.mbs_wide as usize {
            w.ue(MB_TYPE_I_PCM);
            w.align_with_zeros();
            for row in 16 * mb_y..16 * mb_y + 16 {
                let start = row * cw + 16 * mb_x;
                w.bytes(&planes.luma[start..start + 16]);
            }
            for plane in [&planes.cb, &planes.cr] {
                for row in 8 * mb_y..8 * mb_y + 8 {
                    let start = row * cw / 2 + 8 * mb_x;
                    w.bytes(&plane[start..start + 8]);
                }
            }
        }
    }
    w.finish()
}

/// A NAL unit: its header byte, then `rbsp` with emulation prevention bytes inserted.
fn nal_unit(header: u8, rbsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rbsp.len() + rbsp.len() / 64 + 1);
    out.push(header);
    let mut zeros = 0;
    for &byte in rbsp {
        if zeros >= 2 && byte <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(byte);
        zeros = if byte == 0 { zeros + 1 } else { 0 };
    }
    out
}

/// Sample `frame`: one IDR slice NAL unit (`nal_ref_idc` 3, type 5) behind a 4-byte length.
fn sample(geometry: &Geometry, frame: u32, frames: u32) -> Vec<u8> {
    let rbsp = idr_slice(geometry, &planes(geometry, frame, frames), frame % 2);
    let nal = nal_unit(0x65, &rbsp);
    [&size32(nal.len()).to_be_bytes()[..], &nal].concat()
}

// ---------------------------------------------------------------------------------------------
// ISO base media file format.

/// A box size or offset; dimensions and frame count are clamped so that they always fit.
fn size32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Builds a box body with big-endian fields.
#[derive(Default)]
struct Body(Vec<u8>);

impl Body {
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }

    fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    fn bytes(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }

    fn zeros(mut self, n: usize) -> Self {
        self.0.resize(self.0.len() + n, 0);
        self
    }

    /// The unity transformation matrix of `mvhd` and `tkhd`.
    fn unity_matrix(self) -> Self {
        [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000]
            .into_iter()
            .fold(self, Body::u32)
    }
}

fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    [&size32(8 + body.len()).to_be_bytes()[..], kind, body].concat()
}

/// A box that starts with a version byte and 24 bits of flags.
fn full_box(kind: &[u8; 4], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
    let header = (u32::from(version) << 24) | (flags & 0x00FF_FFFF);
    mp4_box(kind, &[&header.to_be_bytes()[..], body].concat())
}

fn ftyp() -> Vec<u8> {
    let body = Body::default()
        .bytes(b"isom")
        .u32(0x200)
        .bytes(b"isom")
        .bytes(b"iso2")
        .bytes(b"avc1")
        .bytes(b"mp41");
    mp4_box(b"ftyp", &body.0)
}

/// `moov` of a single video track whose one chunk starts at `chunk_offset`.
fn moov(track: &Track, chunk_offset: u32) -> Vec<u8> {
    let mvhd = Body::default()
        .u32(0) // creation_time
        .u32(0) // modification_time
        .u32(TIMESCALE)
        .u32(track.duration)
        .u32(0x0001_0000) // rate 1.0
        .u16(0x0100) // volume 1.0
        .zeros(2 + 8)
        .unity_matrix()
        .zeros(24) // pre_defined
        .u32(2); // next_track_ID
    let mvhd = full_box(b"mvhd", 0, 0, &mvhd.0);
    mp4_box(b"moov", &[mvhd, trak(track, chunk_offset)].concat())
}

fn trak(track: &Track, chunk_offset: u32) -> Vec<u8> {
    let g = &track.geometry;
    let tkhd = Body::default()
        .u32(0) // creation_time
        .u32(0) // modification_time
        .u32(1) // track_ID
        .u32(0) // reserved
        .u32(track.duration) // in the movie's timescale
        .zeros(8)
        .u16(0) // layer
        .u16(0) // alternate_group
        .u16(0) // volume: not audio
        .u16(0)
        .unity_matrix()
        .u32(g.width << 16)
        .u32(g.height << 16);
    // Flags: track_enabled | track_in_movie.
    let tkhd = full_box(b"tkhd", 0, 3, &tkhd.0);

    let mdhd = Body::default()
        .u32(0) // creation_time
        .u32(0) // modification_time
        .u32(TIMESCALE)
        .u32(track.duration)
        .u16(0x55C4) // language: "und"
        .u16(0);
    let hdlr = Body::default()
        .u32(0) // pre_defined
        .bytes(b"vide")
        .zeros(12)
        .bytes(b"VideoHandler\0");
    let mdia = [
        full_box(b"mdhd", 0, 0, &mdhd.0),
        full_box(b"hdlr", 0, 0, &hdlr.0),
        minf(track, chunk_offset),
    ]
    .concat();
    mp4_box(b"trak", &[tkhd, mp4_box(b"mdia", &mdia)].concat())
}

fn minf(track: &Track, chunk_offset: u32) -> Vec<u8> {
    // Graphics mode "copy", flag 1 as the format requires.
    let vmhd = full_box(b"vmhd", 0, 1, &[0; 8]);
    // One data reference: this file (flag 1, "self-contained").
    let url = full_box(b"url ", 0, 1, &[]);
    let dref = full_box(b"dref", 0, 0, &Body::default().u32(1).bytes(&url).0);
    let dinf = mp4_box(b"dinf", &dref);

    let stsd = full_box(b"stsd", 0, 0, &Body::default().u32(1).bytes(&avc1(track)).0);
    let stts = track.sample_deltas.iter().fold(
        Body::default().u32(size32(track.sample_deltas.len())),
        |b, &(count, delta)| b.u32(count).u32(delta),
    );
    let stts = full_box(b"stts", 0, 0, &stts.0);
    // One chunk holding every sample, described by sample entry 1.
    let samples = size32(track.samples.len());
    let stsc = Body::default().u32(1).u32(1).u32(samples).u32(1);
    let stsc = full_box(b"stsc", 0, 0, &stsc.0);
    let stsz = track
        .samples
        .iter()
        .fold(Body::default().u32(0).u32(samples), |b, s| {
            b.u32(size32(s.len()))
        });
    let stsz = full_box(b"stsz", 0, 0, &stsz.0);
    let stco = full_box(b"stco", 0, 0, &Body::default().u32(1).u32(chunk_offset).0);
    // No `stss`: every sample is an IDR picture, hence a sync sample.
    let stbl = mp4_box(b"stbl", &[stsd, stts, stsc, stsz, stco].concat());
    mp4_box(b"minf", &[vmhd, dinf, stbl].concat())
}

/// The `avc1` sample entry and its `avcC` decoder configuration.
fn avc1(track: &Track) -> Vec<u8> {
    let avcc = Body::default()
        .u8(1) // configurationVersion
        .u8(PROFILE_IDC)
        .u8(CONSTRAINT_FLAGS)
        .u8(LEVEL_IDC)
        .u8(0xFF) // lengthSizeMinusOne = 3
        .u8(0xE1) // one SPS
        .u16(track.sps.len() as u16)
        .bytes(&track.sps)
        .u8(1) // one PPS
        .u16(track.pps.len() as u16)
        .bytes(&track.pps);
    let mut compressor_name = [0_u8; 32];
    let name = b"kling-sandbox I_PCM";
    compressor_name[0] = name.len() as u8;
    compressor_name[1..=name.len()].copy_from_slice(name);
    let g = &track.geometry;
    let entry = Body::default()
        .zeros(6) // reserved
        .u16(1) // data_reference_index
        .zeros(16) // pre_defined, reserved
        .u16(g.width as u16)
        .u16(g.height as u16)
        .u32(0x0048_0000) // 72 dpi
        .u32(0x0048_0000)
        .u32(0) // reserved
        .u16(1) // frame_count
        .bytes(&compressor_name)
        .u16(0x0018) // depth: colour, no alpha
        .u16(0xFFFF) // pre_defined = -1
        .bytes(&mp4_box(b"avcC", &avcc.0));
    mp4_box(b"avc1", &entry.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A box of the file: its type, where it starts, its whole size and where its body starts.
    #[derive(Debug, Clone, Copy)]
    struct Bx {
        kind: [u8; 4],
        start: usize,
        size: u64,
        body: usize,
    }

    impl Bx {
        fn end(&self) -> usize {
            self.start + self.size as usize
        }
    }

    /// The boxes laid end to end in `bytes[range]`; `file_len` stands for bytes not in memory.
    fn boxes_in(bytes: &[u8], mut at: usize, end: u64) -> Vec<Bx> {
        let mut out = Vec::new();
        while (at as u64) < end {
            let size32 = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
            let kind: [u8; 4] = bytes[at + 4..at + 8].try_into().unwrap();
            let (size, body) = match size32 {
                1 => (
                    u64::from_be_bytes(bytes[at + 8..at + 16].try_into().unwrap()),
                    at + 16,
                ),
                0 => panic!("box {kind:?} runs to the end of the file"),
                n => (u64::from(n), at + 8),
            };
            assert!(
                size >= (body - at) as u64,
                "box {kind:?} smaller than its header"
            );
            out.push(Bx {
                kind,
                start: at,
                size,
                body,
            });
            at = at.saturating_add(size as usize);
            if at as u64 >= end {
                assert_eq!(at as u64, end, "box {kind:?} overruns its parent");
            }
        }
        out
    }

    fn top_level(video: &Mp4) -> Vec<Bx> {
        boxes_in(&video.prefix, 0, video.len())
    }

    fn kinds(boxes: &[Bx]) -> Vec<&str> {
        boxes
            .iter()
            .map(|b| std::str::from_utf8(&b.kind).unwrap())
            .collect()
    }

    fn child(bytes: &[u8], parent: Bx, kind: &[u8; 4]) -> Bx {
        boxes_in(bytes, parent.body, parent.end() as u64)
            .into_iter()
            .find(|b| &b.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} in {:?}", parent.kind))
    }

    /// Follows `path` (box types) down from the top level.
    fn find(video: &Mp4, path: &[&[u8; 4]]) -> Bx {
        let bytes = &video.prefix;
        let mut current = top_level(video)
            .into_iter()
            .find(|b| &b.kind == path[0])
            .unwrap();
        for kind in &path[1..] {
            current = child(bytes, current, kind);
        }
        current
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    const STBL: [&[u8; 4]; 5] = [b"moov", b"trak", b"mdia", b"minf", b"stbl"];

    fn stbl_child(video: &Mp4, kind: &[u8; 4]) -> Bx {
        child(&video.prefix, find(video, &STBL), kind)
    }

    /// The sample sizes listed in `stsz`.
    fn sample_sizes(video: &Mp4) -> Vec<u32> {
        let bytes = &video.prefix;
        let stsz = stbl_child(video, b"stsz");
        assert_eq!(
            u32_at(bytes, stsz.body + 4),
            0,
            "samples have their own sizes"
        );
        let count = u32_at(bytes, stsz.body + 8) as usize;
        (0..count)
            .map(|i| u32_at(bytes, stsz.body + 12 + 4 * i))
            .collect()
    }

    /// Sum of the `stts` sample durations.
    fn stts_total(video: &Mp4) -> u64 {
        let bytes = &video.prefix;
        let stts = stbl_child(video, b"stts");
        let entries = u32_at(bytes, stts.body + 4) as usize;
        (0..entries)
            .map(|i| {
                let at = stts.body + 8 + 8 * i;
                u64::from(u32_at(bytes, at)) * u64::from(u32_at(bytes, at + 4))
            })
            .sum()
    }

    /// The whole file, read through `read_at` in one go.
    fn render(video: &Mp4) -> Vec<u8> {
        let mut all = vec![0xAA; video.len() as usize];
        assert_eq!(video.read_at(0, &mut all), all.len());
        all
    }

    fn spec(aspect_ratio: &str, duration_secs: u32, target_size: Option<u64>) -> VideoSpec {
        VideoSpec {
            target_size,
            ..VideoSpec::for_aspect_ratio(aspect_ratio, duration_secs)
        }
    }

    /// Reads an RBSP (emulation prevention bytes already removed).
    struct BitReader<'a> {
        bytes: &'a [u8],
        pos: usize,
    }

    impl BitReader<'_> {
        fn bit(&mut self) -> u32 {
            let bit = (self.bytes[self.pos / 8] >> (7 - self.pos % 8)) & 1;
            self.pos += 1;
            u32::from(bit)
        }

        fn bits(&mut self, n: u32) -> u32 {
            (0..n).fold(0, |acc, _| (acc << 1) | self.bit())
        }

        fn ue(&mut self) -> u32 {
            let mut zeros = 0;
            while self.bit() == 0 {
                zeros += 1;
            }
            (1 << zeros) - 1 + self.bits(zeros)
        }

        fn se(&mut self) -> i32 {
            let k = self.ue() as i32;
            if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) }
        }
    }

    fn unescape(nal_payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut zeros = 0;
        for &b in nal_payload {
            if zeros >= 2 && b == 3 {
                zeros = 0;
                continue;
            }
            out.push(b);
            zeros = if b == 0 { zeros + 1 } else { 0 };
        }
        out
    }

    /// The SPS and PPS NAL units stored in `avcC`.
    fn parameter_sets(video: &Mp4) -> (Vec<u8>, Vec<u8>) {
        let bytes = &video.prefix;
        let stsd = stbl_child(video, b"stsd");
        let avc1 = boxes_in(bytes, stsd.body + 8, stsd.end() as u64)[0];
        assert_eq!(&avc1.kind, b"avc1");
        let avcc = boxes_in(bytes, avc1.body + 78, avc1.end() as u64)[0];
        assert_eq!(&avcc.kind, b"avcC");
        let c = &bytes[avcc.body..avcc.end()];
        assert_eq!(c[4], 0xFF, "4-byte NAL unit lengths");
        assert_eq!(c[5], 0xE1, "one SPS");
        let sps_len = usize::from(u16::from_be_bytes([c[6], c[7]]));
        let sps = c[8..8 + sps_len].to_vec();
        let rest = &c[8 + sps_len..];
        assert_eq!(rest[0], 1, "one PPS");
        let pps_len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
        (sps, rest[3..3 + pps_len].to_vec())
    }

    #[test]
    fn aspect_ratios_map_to_small_sizes_and_unknown_ones_fall_back_to_16_9() {
        let size = |ar: &str| {
            let s = VideoSpec::for_aspect_ratio(ar, 5);
            (s.width, s.height, s.duration_secs, s.target_size)
        };
        assert_eq!(size("16:9"), (64, 36, 5, None));
        assert_eq!(size("9:16"), (36, 64, 5, None));
        assert_eq!(size("1:1"), (64, 64, 5, None));
        assert_eq!(size("4:3"), (64, 36, 5, None));
        assert_eq!(size(""), (64, 36, 5, None));
    }

    #[test]
    fn file_is_ftyp_then_moov_then_mdat_and_their_sizes_add_up_to_len() {
        for ar in ["16:9", "9:16", "1:1"] {
            for secs in [5, 10] {
                let video = Mp4::new(&spec(ar, secs, None));
                let boxes = top_level(&video);
                assert_eq!(kinds(&boxes), ["ftyp", "moov", "mdat"]);
                let total: u64 = boxes.iter().map(|b| b.size).sum();
                assert_eq!(total, video.len());
                assert_eq!(video.prefix.len() as u64, video.len());
            }
        }
    }

    #[test]
    fn ftyp_declares_isom_and_avc1_brands() {
        let video = Mp4::new(&spec("16:9", 5, None));
        let ftyp = top_level(&video)[0];
        let body = &video.prefix[ftyp.body..ftyp.end()];
        assert_eq!(&body[..4], b"isom");
        let compatible: Vec<&[u8]> = body[8..].chunks(4).collect();
        assert!(compatible.contains(&&b"isom"[..]));
        assert!(compatible.contains(&&b"avc1"[..]));
    }

    #[test]
    fn movie_track_and_media_durations_equal_the_requested_seconds() {
        for secs in [1, 5, 7, 10, 15, 60] {
            let video = Mp4::new(&spec("16:9", secs, None));
            let bytes = &video.prefix;
            let mvhd = find(&video, &[b"moov", b"mvhd"]);
            let movie_timescale = u32_at(bytes, mvhd.body + 12);
            assert_eq!(u32_at(bytes, mvhd.body + 16), secs * movie_timescale);
            let tkhd = find(&video, &[b"moov", b"trak", b"tkhd"]);
            assert_eq!(u32_at(bytes, tkhd.body + 20), secs * movie_timescale);
            let mdhd = find(&video, &[b"moov", b"trak", b"mdia", b"mdhd"]);
            let media_timescale = u32_at(bytes, mdhd.body + 12);
            assert_eq!(u32_at(bytes, mdhd.body + 16), secs * media_timescale);
            assert_eq!(stts_total(&video), u64::from(secs * media_timescale));
        }
    }

    #[test]
    fn zero_seconds_is_rendered_as_one_second() {
        let video = Mp4::new(&spec("16:9", 0, None));
        let mvhd = find(&video, &[b"moov", b"mvhd"]);
        assert_eq!(u32_at(&video.prefix, mvhd.body + 16), TIMESCALE);
    }

    #[test]
    fn there_is_one_frame_per_second_up_to_ten_frames() {
        for (secs, frames) in [(5, 5), (10, 10), (30, 10)] {
            let video = Mp4::new(&spec("16:9", secs, None));
            assert_eq!(sample_sizes(&video).len(), frames);
        }
    }

    #[test]
    fn chunk_offset_points_at_the_first_nal_length_prefix_inside_mdat() {
        for ar in ["16:9", "9:16", "1:1"] {
            let video = Mp4::new(&spec(ar, 10, Some(1 << 20)));
            let bytes = &video.prefix;
            let mdat = top_level(&video)[2];
            assert_eq!(&mdat.kind, b"mdat");
            let stco = stbl_child(&video, b"stco");
            assert_eq!(u32_at(bytes, stco.body + 4), 1, "one chunk");
            let offset = u32_at(bytes, stco.body + 8) as usize;
            assert_eq!(offset, mdat.body);

            let sizes = sample_sizes(&video);
            let stsc = stbl_child(&video, b"stsc");
            assert_eq!(u32_at(bytes, stsc.body + 4), 1);
            assert_eq!(u32_at(bytes, stsc.body + 8), 1, "first_chunk");
            assert_eq!(u32_at(bytes, stsc.body + 12) as usize, sizes.len());

            // Walk the samples: each is one IDR NAL unit behind its length.
            let mut at = offset;
            for size in sizes {
                assert_eq!(u32_at(bytes, at), size - 4);
                assert_eq!(bytes[at + 4], 0x65, "IDR slice, nal_ref_idc 3");
                at += size as usize;
            }
            assert!(at <= mdat.end());
        }
    }

    #[test]
    fn sps_describes_the_display_size_through_cropping() {
        for (ar, width, height) in [("16:9", 64, 36), ("9:16", 36, 64), ("1:1", 64, 64)] {
            let video = Mp4::new(&spec(ar, 5, None));
            let (sps, pps) = parameter_sets(&video);
            assert_eq!(sps[0], 0x67);
            assert_eq!(pps[0], 0x68);
            let rbsp = unescape(&sps[1..]);
            let mut r = BitReader {
                bytes: &rbsp,
                pos: 0,
            };
            assert_eq!(r.bits(8), 66, "Baseline");
            r.bits(16);
            assert_eq!(r.ue(), 0, "sps id");
            assert_eq!(r.ue(), 0, "log2_max_frame_num_minus4");
            assert_eq!(r.ue(), 2, "pic_order_cnt_type");
            r.ue();
            r.bit();
            let coded_width = (r.ue() + 1) * 16;
            let coded_height = (r.ue() + 1) * 16;
            assert_eq!(r.bit(), 1, "frame_mbs_only_flag");
            r.bit();
            let (mut right, mut bottom) = (0, 0);
            if r.bit() == 1 {
                assert_eq!(r.ue(), 0);
                right = r.ue();
                assert_eq!(r.ue(), 0);
                bottom = r.ue();
            }
            assert_eq!(r.bit(), 0, "no VUI");
            assert_eq!(r.bit(), 1, "rbsp_stop_one_bit");
            assert_eq!(
                (coded_width - 2 * right, coded_height - 2 * bottom),
                (width, height)
            );

            let tkhd = find(&video, &[b"moov", b"trak", b"tkhd"]);
            assert_eq!(u32_at(&video.prefix, tkhd.body + 76), width << 16);
            assert_eq!(u32_at(&video.prefix, tkhd.body + 80), height << 16);
        }
    }

    #[test]
    fn every_macroblock_of_every_frame_is_i_pcm() {
        let video = Mp4::new(&spec("16:9", 5, None));
        let bytes = &video.prefix;
        let mdat = top_level(&video)[2];
        let mut at = mdat.body;
        for (frame, size) in sample_sizes(&video).into_iter().enumerate() {
            let rbsp = unescape(&bytes[at + 5..at + size as usize]);
            at += size as usize;
            let mut r = BitReader {
                bytes: &rbsp,
                pos: 0,
            };
            assert_eq!(r.ue(), 0, "first_mb_in_slice");
            assert_eq!(r.ue(), 7, "slice_type I");
            assert_eq!(r.ue(), 0, "pps id");
            assert_eq!(r.bits(FRAME_NUM_BITS), 0, "frame_num");
            assert_eq!(r.ue(), frame as u32 % 2, "idr_pic_id alternates");
            assert_eq!(r.bits(2), 0, "dec_ref_pic_marking");
            assert_eq!(r.se(), 0, "slice_qp_delta");
            assert_eq!(r.ue(), 1, "deblocking off");
            for _ in 0..4 * 3 {
                assert_eq!(r.ue(), MB_TYPE_I_PCM);
                while !r.pos.is_multiple_of(8) {
                    assert_eq!(r.bit(), 0, "pcm_alignment_zero_bit");
                }
                let samples = &rbsp[r.pos / 8..r.pos / 8 + 384];
                assert!(samples.iter().all(|&s| (16..=240).contains(&s)));
                r.pos += 384 * 8;
            }
            assert_eq!(r.bit(), 1, "rbsp_stop_one_bit");
            assert_eq!(
                r.pos.div_ceil(8),
                rbsp.len(),
                "nothing after the last macroblock"
            );
        }
    }

    #[test]
    fn the_picture_changes_from_frame_to_frame() {
        let g = Geometry::new(64, 36);
        let first = planes(&g, 0, 5);
        let second = planes(&g, 1, 5);
        assert_ne!(first.luma, second.luma);
        assert_ne!(first.cb, second.cb);
        // A rainbow: the left edge of the first frame is red, high in Cr.
        assert!(first.cr[0] > 200, "Cr of red is {}", first.cr[0]);
    }

    #[test]
    fn emulation_prevention_escapes_start_code_lookalikes() {
        let escaped = |rbsp: &[u8]| nal_unit(0x65, rbsp)[1..].to_vec();
        assert_eq!(escaped(&[0, 0, 0]), [0, 0, 3, 0]);
        assert_eq!(escaped(&[0, 0, 1]), [0, 0, 3, 1]);
        assert_eq!(escaped(&[0, 0, 2]), [0, 0, 3, 2]);
        assert_eq!(escaped(&[0, 0, 3]), [0, 0, 3, 3]);
        assert_eq!(escaped(&[0, 0, 4]), [0, 0, 4]);
        assert_eq!(escaped(&[0, 0, 0, 0, 0]), [0, 0, 3, 0, 0, 3, 0]);
        assert_eq!(escaped(&[7, 0, 7, 0, 0, 7]), [7, 0, 7, 0, 0, 7]);
    }

    #[test]
    fn padded_file_is_exactly_the_target_size() {
        let natural = Mp4::new(&spec("16:9", 5, None)).len();
        for target in [natural + 8, natural + 4096, 64 << 20] {
            let video = Mp4::new(&spec("16:9", 5, Some(target)));
            assert_eq!(video.len(), target);
            let boxes = top_level(&video);
            assert_eq!(kinds(&boxes), ["ftyp", "moov", "mdat", "free"]);
            assert_eq!(boxes.iter().map(|b| b.size).sum::<u64>(), target);
            assert!(
                video.prefix.len() < 64 << 10,
                "prefix is {} bytes",
                video.prefix.len()
            );
        }
    }

    #[test]
    fn gaps_too_small_for_a_box_lengthen_mdat() {
        let natural = Mp4::new(&spec("16:9", 5, None)).len();
        for target in natural + 1..natural + 8 {
            let video = Mp4::new(&spec("16:9", 5, Some(target)));
            assert_eq!(video.len(), target);
            let all = render(&video);
            let boxes = boxes_in(&all, 0, target);
            assert_eq!(kinds(&boxes), ["ftyp", "moov", "mdat"]);
            assert_eq!(boxes[2].end() as u64, target);
        }
    }

    #[test]
    fn targets_below_the_natural_size_are_ignored() {
        let natural = Mp4::new(&spec("1:1", 10, None));
        for target in [0, 1, natural.len() - 1, natural.len()] {
            let video = Mp4::new(&spec("1:1", 10, Some(target)));
            assert_eq!(video.len(), natural.len());
            assert_eq!(video.prefix, natural.prefix);
        }
    }

    #[test]
    fn padding_beyond_4_gib_uses_a_64_bit_free_box_without_allocating_it() {
        let target = 5 << 30;
        let video = Mp4::new(&spec("16:9", 10, Some(target)));
        assert_eq!(video.len(), target);
        assert!(
            video.prefix.len() < 64 << 10,
            "prefix is {} bytes",
            video.prefix.len()
        );
        let boxes = top_level(&video);
        assert_eq!(kinds(&boxes), ["ftyp", "moov", "mdat", "free"]);
        let free = boxes[3];
        assert_eq!(
            u32_at(&video.prefix, free.start),
            1,
            "size 1: largesize follows"
        );
        assert_eq!(free.body - free.start, 16);
        assert_eq!(free.end() as u64, target);

        let mut tail = [0xAA; 10];
        assert_eq!(video.read_at(target - 4, &mut tail), 4);
        assert_eq!(tail, [0, 0, 0, 0, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA]);
        assert_eq!(video.read_at(target, &mut tail), 0);
        assert_eq!(video.read_at(u64::MAX, &mut tail), 0);
    }

    #[test]
    fn padding_just_above_u32_uses_the_64_bit_form_and_just_below_the_32_bit_form() {
        let natural = Mp4::new(&spec("16:9", 5, None)).len();
        for (gap, header) in [(u64::from(u32::MAX), 8), (u64::from(u32::MAX) + 1, 16)] {
            let video = Mp4::new(&spec("16:9", 5, Some(natural + gap)));
            let free = top_level(&video)[3];
            assert_eq!(free.size, gap);
            assert_eq!(free.body - free.start, header);
        }
    }

    #[test]
    fn read_at_any_offset_matches_a_full_render() {
        let natural = Mp4::new(&spec("9:16", 5, None)).len();
        let video = Mp4::new(&spec("9:16", 5, Some(natural + 1000)));
        let all = render(&video);
        let len = video.len();
        let boundary = video.prefix.len() as u64;
        assert!(
            all[boundary as usize..].iter().all(|&b| b == 0),
            "padding is zeros"
        );

        let check = |offset: u64, want: usize| {
            let mut buf = vec![0xAA; want];
            let n = video.read_at(offset, &mut buf);
            let expected = all.get(offset as usize..).unwrap_or_default();
            let expected = &expected[..expected.len().min(want)];
            assert_eq!(n, expected.len(), "bytes read at {offset}");
            assert_eq!(&buf[..n], expected, "bytes at {offset}");
            assert!(
                buf[n..].iter().all(|&b| b == 0xAA),
                "wrote past {n} at {offset}"
            );
        };
        check(0, 16); // start
        check(0, 0); // empty buffer
        check(boundary - 5, 20); // across the prefix/padding boundary
        check(boundary - 1, 1);
        check(boundary, 50);
        check(len - 1, 1); // last byte
        check(len - 3, 64); // short read at the end
        check(len, 8); // at the end
        check(len + 12_345, 8); // past the end

        // Odd-sized reads from arbitrary places stitch back into the file.
        let mut stitched = Vec::new();
        let mut buf = [0; 777];
        loop {
            let n = video.read_at(stitched.len() as u64, &mut buf);
            if n == 0 {
                break;
            }
            stitched.extend_from_slice(&buf[..n]);
        }
        assert_eq!(stitched, all);
    }

    #[test]
    fn odd_and_out_of_range_dimensions_are_made_even_and_clamped() {
        let g = Geometry::new(35, 1);
        assert_eq!((g.width, g.height, g.mbs_wide, g.mbs_high), (36, 2, 3, 1));
        let g = Geometry::new(100_000, 0);
        assert_eq!((g.width, g.height), (MAX_DIMENSION, 2));
        let video = Mp4::new(&VideoSpec {
            width: 35,
            height: 17,
            duration_secs: 2,
            target_size: None,
        });
        assert_eq!(top_level(&video).len(), 3);
    }

    #[test]
    fn sample_deltas_add_up_to_the_duration() {
        assert_eq!(sample_deltas(5000, 5), [(5, 1000)]);
        assert_eq!(sample_deltas(1000, 1), [(1, 1000)]);
        assert_eq!(sample_deltas(10_000, 3), [(2, 3333), (1, 3334)]);
    }
}
