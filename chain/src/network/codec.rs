//! Length-prefixed borsh frames for the request-response protocols.

use std::io;
use std::marker::PhantomData;

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::to_borsh;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest frame accepted (a full block of transactions, or a batch of synced blocks, fits
/// well within it).
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// Consensus messages and transaction gossip; the response is an [`super::Ack`].
pub const MESSAGES_PROTOCOL: &str = "/chain/messages/1";
/// Block sync: a range request answered with blocks and their commit certificates.
pub const SYNC_PROTOCOL: &str = "/chain/sync/1";

/// Borsh request and response types `Req` and `Resp`, each in one length-prefixed frame.
#[derive(Debug)]
pub struct BorshCodec<Req, Resp>(PhantomData<fn() -> (Req, Resp)>);

impl<Req, Resp> Default for BorshCodec<Req, Resp> {
    fn default() -> Self {
        BorshCodec(PhantomData)
    }
}

impl<Req, Resp> Clone for BorshCodec<Req, Resp> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

async fn read_frame<T: AsyncRead + Unpin + Send, M: BorshDeserialize>(io: &mut T) -> io::Result<M> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame of {len} bytes exceeds {MAX_FRAME}")));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    borsh::from_slice(&buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

async fn write_frame<T: AsyncWrite + Unpin + Send, M: BorshSerialize>(io: &mut T, m: &M) -> io::Result<()> {
    let bytes = to_borsh(m);
    io.write_all(&(bytes.len() as u32).to_le_bytes()).await?;
    io.write_all(&bytes).await?;
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
        read_frame(io).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(&mut self, _: &Self::Protocol, io: &mut T) -> io::Result<Resp> {
        read_frame(io).await
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
