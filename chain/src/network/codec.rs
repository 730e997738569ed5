//! Length-prefixed borsh frames (u32 little-endian length, then the bytes), for the message
//! streams and the block-sync request-response protocol, each with its own size limit. A
//! frame is read as its bytes arrive: a peer's length prefix reserves no memory ahead of the
//! data it actually sends.

use std::io;
use std::marker::PhantomData;

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::to_borsh;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Memory reserved ahead for a frame before its bytes arrive.
const READ_CHUNK: usize = 64 * 1024;

/// Block sync: a range request answered with blocks and their commit certificates.
pub const SYNC_PROTOCOL: &str = "/chain/sync/1";

/// Borsh request and response types `Req` and `Resp`, each in one length-prefixed frame of
/// at most `max_request` / `max_response` bytes.
#[derive(Debug)]
pub struct BorshCodec<Req, Resp> {
    max_request: usize,
    max_response: usize,
    _types: PhantomData<fn() -> (Req, Resp)>,
}

impl<Req, Resp> BorshCodec<Req, Resp> {
    pub fn new(max_request: usize, max_response: usize) -> Self {
        BorshCodec { max_request, max_response, _types: PhantomData }
    }
}

impl<Req, Resp> Clone for BorshCodec<Req, Resp> {
    fn clone(&self) -> Self {
        Self::new(self.max_request, self.max_response)
    }
}

/// Reads one frame of at most `max` bytes, growing the buffer as bytes arrive.
pub async fn read_frame<T: AsyncRead + Unpin + Send, M: BorshDeserialize>(io: &mut T, max: usize) -> io::Result<M> {
    read_frame_len(io, max).await.map(|(m, _)| m)
}

/// [`read_frame`], also returning the frame's length.
pub async fn read_frame_len<T: AsyncRead + Unpin + Send, M: BorshDeserialize>(
    io: &mut T,
    max: usize,
) -> io::Result<(M, usize)> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame of {len} bytes exceeds {max}")));
    }
    let mut buf = Vec::with_capacity(len.min(READ_CHUNK));
    let read = (&mut *io).take(len as u64).read_to_end(&mut buf).await?;
    if read != len {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("frame ended after {read} of {len} bytes")));
    }
    let m = borsh::from_slice(&buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok((m, len))
}

/// `m` as one frame: u32 little-endian length, then its borsh bytes.
pub fn encode<M: BorshSerialize>(m: &M) -> Vec<u8> {
    let body = to_borsh(m);
    let mut bytes = Vec::with_capacity(4 + body.len());
    bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&body);
    bytes
}

async fn write_frame<T: AsyncWrite + Unpin + Send, M: BorshSerialize>(io: &mut T, m: &M) -> io::Result<()> {
    io.write_all(&encode(m)).await?;
    io.close().await
}

impl<Req, Resp> libp2p::request_response::Codec for BorshCodec<Req, Resp>
where
    Req: BorshSerialize + BorshDeserialize + Send + Sync + 'static,
    Resp: BorshSerialize + BorshDeserialize + Send + Sync + 'static,
{
    type Protocol = libp2p::StreamProtocol;
    type Request = Req;
    type Response = Resp;

    async fn read_request<T: AsyncRead + Unpin + Send>(&mut self, _: &Self::Protocol, io: &mut T) -> io::Result<Req> {
        read_frame(io, self.max_request).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(&mut self, _: &Self::Protocol, io: &mut T) -> io::Result<Resp> {
        read_frame(io, self.max_response).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
        req: Req,
    ) -> io::Result<()> {
        write_frame(io, &req).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
        res: Resp,
    ) -> io::Result<()> {
        write_frame(io, &res).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its bytes a few at a time, counting them.
    struct Trickle<'a> {
        bytes: &'a [u8],
    }

    impl AsyncRead for Trickle<'_> {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<io::Result<usize>> {
            let n = buf.len().min(self.bytes.len()).min(7);
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            std::task::Poll::Ready(Ok(n))
        }
    }

    #[test]
    fn frames_are_bounded_and_a_length_prefix_reserves_nothing_ahead() {
        futures::executor::block_on(async {
            let payload = to_borsh(&vec![7u8; 100]);
            let mut frame = (payload.len() as u32).to_le_bytes().to_vec();
            frame.extend(&payload);
            let ok: Vec<u8> = read_frame(&mut Trickle { bytes: &frame }, 1024).await.unwrap();
            assert_eq!(ok, vec![7u8; 100]);
            let too_big = read_frame::<_, Vec<u8>>(&mut Trickle { bytes: &frame }, 50).await.unwrap_err();
            assert!(too_big.to_string().contains("exceeds 50"), "{too_big}");
            // A prefix claiming 1 GiB followed by 10 bytes: refused by the limit, and under a
            // large limit it fails at the end of the data instead of allocating a gigabyte.
            let mut liar = (1u32 << 30).to_le_bytes().to_vec();
            liar.extend([1u8; 10]);
            assert!(read_frame::<_, Vec<u8>>(&mut Trickle { bytes: &liar }, 1024).await.is_err());
            let eof = read_frame::<_, Vec<u8>>(&mut Trickle { bytes: &liar }, usize::MAX).await.unwrap_err();
            assert_eq!(eof.kind(), io::ErrorKind::UnexpectedEof);
        });
    }
}
