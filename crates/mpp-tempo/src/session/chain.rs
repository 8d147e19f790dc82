//! The chain read both halves need: a channel's state, through `eth_call` with the RPC
//! timeout.

use alloy::primitives::B256;
use tempo_alloy::rpc::TempoTransactionRequest;

use super::abi::ChannelState;
use super::protocol::Escrow;
use crate::error::RpcError;
use crate::rpc::Rpc;

impl Rpc {
    /// The state of `channel_id` in `escrow` at the latest block. An unknown (or, on v2,
    /// closed) channel reads as the zero state.
    #[cfg_attr(not(feature = "server"), allow(dead_code))] // the client reads no state yet
    pub(crate) async fn channel_state(
        &self,
        escrow: &Escrow,
        channel_id: B256,
    ) -> Result<ChannelState, RpcError> {
        let call = escrow.channel_state_call(channel_id);
        let mut request = TempoTransactionRequest::default();
        request.inner.to = Some(call.to);
        request.inner.input = call.input.into();
        let output = self.call(&request).await?;
        escrow
            .decode_channel_state(&output)
            .map_err(|err| RpcError::Rejected {
                method: "eth_call",
                message: format!("the escrow's answer: {err}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::Uint;
    use alloy::sol_types::SolCall;
    use alloy::transports::mock::Asserter;
    use mpp_core::Amount;
    use tempo_alloy::contracts::precompiles::ITIP20ChannelReserve;

    use super::*;
    use crate::rpc::tests::mocked;
    use crate::session::protocol::TIP20_CHANNEL_RESERVE;

    fn answer(node: &Asserter, bytes: Vec<u8>) {
        node.push_success(&alloy::primitives::Bytes::from(bytes));
    }

    #[tokio::test]
    async fn reads_and_decodes_the_state() {
        let (rpc, node) = mocked();
        let escrow = Escrow::new(TIP20_CHANNEL_RESERVE, 31337);
        let state = ITIP20ChannelReserve::ChannelState {
            settled: Uint::from(3),
            deposit: Uint::from(10),
            closeRequestedAt: 0,
        };
        answer(
            &node,
            ITIP20ChannelReserve::getChannelStateCall::abi_encode_returns(&state),
        );
        let read = rpc
            .channel_state(&escrow, B256::repeat_byte(1))
            .await
            .unwrap();
        assert_eq!(
            (read.deposit, read.settled),
            (Amount::new(10), Amount::new(3))
        );
        assert!(read.is_open());
        // A node answering something else than a channel state.
        answer(&node, vec![1, 2, 3]);
        assert!(matches!(
            rpc.channel_state(&escrow, B256::ZERO).await,
            Err(RpcError::Rejected { .. })
        ));
    }
}
