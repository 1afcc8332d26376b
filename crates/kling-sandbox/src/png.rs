//! A real PNG for the sandbox's video posters (an asset's `thumbnail` and `firstFrame`),
//! written with `std` alone: 8-bit RGB, one zlib stream of stored (uncompressed) deflate
//! blocks, every chunk with its CRC-32. The picture is the video's look, a rainbow that
//! runs across and darkens downwards, turned by `hue` (so posters of different prompts
//! differ), with the white progress bar of the first frame along the bottom edge.

/// The longest side of a poster, in pixels.
const MAX_SIDE: u32 = 320;
/// The most bytes one stored deflate block holds.
const STORED_BLOCK: usize = 65_535;

/// A poster of a video, as the sandbox keeps it: what it looks like, rendered into a
/// PNG only when someone downloads it (10,000 jobs would otherwise hold 1.7 GB of
/// pictures for the life of the sandbox).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Poster {
    /// The video's size.
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// Where on the colour wheel it starts (0..1).
    pub(crate) hue: f32,
}

impl Poster {
    /// The PNG.
    pub(crate) fn render(&self) -> Vec<u8> {
        poster(self.width, self.height, self.hue)
    }

    /// The PNG's length in bytes, without rendering it: its deflate blocks are stored,
    /// so the length follows from the size alone.
    pub(crate) fn len(&self) -> u64 {
        let (width, height) = fit(self.width.max(1), self.height.max(1));
        let rows = (u64::from(width) * 3 + 1) * u64::from(height);
        let blocks = rows.div_ceil(STORED_BLOCK as u64).max(1);
        // zlib: 2 header bytes, 5 per block, the data, the Adler-32.
        let zlib = 2 + 5 * blocks + rows + 4;
        // Signature, then IHDR, IDAT and IEND, each 12 bytes besides its data.
        8 + (12 + 13) + (12 + zlib) + 12
    }
}

/// A poster for a `width` × `height` video, [`MAX_SIDE`] on its longest side.
pub(crate) fn poster(width: u32, height: u32, hue: f32) -> Vec<u8> {
    let (width, height) = fit(width.max(1), height.max(1));
    let mut rows = Vec::with_capacity((width as usize * 3 + 1) * height as usize);
    for y in 0..height {
        rows.push(0); // filter type: none
        let shade = 1.0 - 0.6 * y as f32 / height as f32;
        let bar = y + 1 >= height.saturating_sub(height / 40).max(1) && height > 4;
        for x in 0..width {
            let pixel = if bar && x < width / 10 {
                [255, 255, 255]
            } else {
                let [r, g, b] = rainbow(hue + x as f32 / width as f32);
                [r, g, b].map(|c| (c as f32 * shade) as u8)
            };
            rows.extend_from_slice(&pixel);
        }
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, no filter, no interlace
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &zlib_stored(&rows));
    chunk(&mut png, b"IEND", &[]);
    png
}

/// `width` × `height` scaled so that its longest side is [`MAX_SIDE`] (the sandbox's
/// videos are small), keeping the aspect ratio.
fn fit(width: u32, height: u32) -> (u32, u32) {
    let side = width.max(height);
    let scale = |n: u32| ((u64::from(n) * u64::from(MAX_SIDE)) / u64::from(side)).max(1) as u32;
    (scale(width), scale(height))
}

/// A fully saturated colour at `turn` (0..1 around the wheel, wrapping).
fn rainbow(turn: f32) -> [u8; 3] {
    let h = turn.rem_euclid(1.0) * 6.0;
    let rising = (h.fract() * 255.0) as u8;
    let falling = 255 - rising;
    match h as u32 {
        0 => [255, rising, 0],
        1 => [falling, 255, 0],
        2 => [0, 255, rising],
        3 => [0, falling, 255],
        4 => [rising, 0, 255],
        _ => [255, 0, falling],
    }
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// `data` as a zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 §3.2.4).
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(STORED_BLOCK).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// CRC-32 (ISO-HDLC, as PNG uses it) by table: generates run on the request path.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &byte| {
        CRC_TABLE[usize::from((crc as u8) ^ byte)] ^ (crc >> 8)
    })
}

/// The CRC-32 of each byte value, computed at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut crc = n as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[n] = crc;
        n += 1;
    }
    table
};

/// Adler-32, with the modulo taken once per 5552 bytes (the most that cannot overflow).
fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in bytes.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= 65_521;
        b %= 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_their_standards() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        // Past one deferred modulo: zlib's Adler-32 of 20,000 bytes of 0xff.
        let ones = vec![0xff; 20_000];
        let (mut a, mut b) = (1u64, 0u64);
        for &byte in &ones {
            a = (a + u64::from(byte)) % 65_521;
            b = (b + a) % 65_521;
        }
        assert_eq!(u64::from(adler32(&ones)), (b << 16) | a);
    }

    #[test]
    fn a_posters_length_is_known_without_rendering_it() {
        for (width, height) in [
            (1280, 720),
            (720, 1280),
            (1024, 1024),
            (1, 1),
            (0, 0),
            (4000, 10),
        ] {
            let poster = Poster {
                width,
                height,
                hue: 0.25,
            };
            assert_eq!(
                poster.len(),
                poster.render().len() as u64,
                "{width}x{height}"
            );
        }
    }

    #[test]
    fn a_poster_is_a_png_of_the_video_shape() {
        let png = poster(1280, 720, 0.0);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((width, height), (320, 180));
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
        let tall = poster(72, 128, 0.5);
        assert_eq!(u32::from_be_bytes(tall[16..20].try_into().unwrap()), 180);
        assert_eq!(u32::from_be_bytes(tall[20..24].try_into().unwrap()), 320);
    }

    #[test]
    fn stored_blocks_split_at_their_limit() {
        let data = vec![7u8; STORED_BLOCK + 10];
        let stream = zlib_stored(&data);
        // Header, two block headers of 5 bytes, the data, the Adler-32.
        assert_eq!(stream.len(), 2 + 5 + 5 + data.len() + 4);
        assert_eq!(stream[2], 0, "the first block is not the last");
        assert_eq!(stream[2 + 5 + STORED_BLOCK], 1, "the second is");
    }
}
