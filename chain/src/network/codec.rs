//! Length-prefixed borsh frames for the request-response protocol.

use std::io;

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::to_borsh;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::message::{Ack, NetMessage};

/// Largest frame accepted (a full block of transactions fits well within it).
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

pub const PROTOCOL: &str = "/chain/messages/1";

#[derive(Debug, Clone, Copy, Default)]
pub struct BorshCodec;

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

impl libp2p::request_response::Codec for BorshCodec {
    type Protocol = libp2p::StreamProtocol;
    type Request = NetMessage;
    type Response = Ack;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
    ) -> io::Result<NetMessage> {
        read_frame(io).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(&mut self, _: &Self::Protocol, io: &mut T) -> io::Result<Ack> {
        read_frame(io).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
        req: NetMessage,
    ) -> io::Result<()> {
        write_frame(io, &req).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
        res: Ack,
    ) -> io::Result<()> {
        write_frame(io, &res).await
    }
}
