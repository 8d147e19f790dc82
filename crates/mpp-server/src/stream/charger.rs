//! One item's charge, shared by every transport: charge the channel now, or say what credit
//! is missing ([`CreditNeed`]) and wait for it to arrive.

use std::time::{Instant, SystemTime};

use mpp_core::{CreditNeed, Metering, Receipt, VerifyError};

use super::Meter;

/// How charging for the next item went.
#[derive(Debug)]
pub(crate) enum Charge {
    /// The item is paid: send it.
    Paid,
    /// The channel's credit is short: ask for this, then [wait](Charger::wait).
    Short(CreditNeed),
}

/// Charges a stream's items, one at a time, from its channel.
#[derive(Debug)]
pub(crate) struct Charger {
    meter: Meter,
    /// Items the opening request already paid.
    prepaid: u64,
    /// Items paid so far, prepaid included.
    paid: u64,
    /// The latest receipt: the final receipt's template.
    last: Receipt,
}

impl Charger {
    pub(crate) fn new(meter: Meter) -> Self {
        Self {
            prepaid: meter.terms.prepaid,
            paid: 0,
            last: meter.terms.receipt.clone(),
            meter,
        }
    }

    pub(crate) fn meter(&self) -> &Meter {
        &self.meter
    }

    fn metering(&self) -> Result<&dyn Metering, VerifyError> {
        self.meter
            .terms
            .metering()
            .ok_or_else(|| VerifyError::failed("the payment method does not meter channels"))
    }

    /// Pays for the next item, if it costs anything: a prepaid item or one of a stream sold as
    /// one unit after its first is free; any other is charged the price now.
    pub(crate) async fn charge(&mut self) -> Result<Charge, VerifyError> {
        let terms = &self.meter.terms;
        if self.prepaid > 0 || (!terms.per_item && self.paid > 0) {
            self.prepaid = self.prepaid.saturating_sub(1);
            self.paid += 1;
            return Ok(Charge::Paid);
        }
        let metering = self.metering()?;
        match metering
            .charge(&terms.channel_id, terms.price, &terms.challenge_id)
            .await
        {
            Ok(receipt) => {
                self.last = receipt;
                self.paid += 1;
                Ok(Charge::Paid)
            }
            Err(VerifyError::InsufficientCredit { .. }) => {
                let credit = metering.credit(&terms.channel_id).await?;
                Ok(Charge::Short(CreditNeed::for_price(&credit, terms.price)))
            }
            Err(err) => Err(err),
        }
    }

    /// Waits until the channel's credit covers one item (true), or `deadline` passes (false).
    pub(crate) async fn wait(&self, deadline: Instant) -> Result<bool, VerifyError> {
        let terms = &self.meter.terms;
        let metering = self.metering()?;
        let notify = terms.mpp.inner.wakers.subscribe(&terms.channel_id);
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            // Registered before the credit is read, so a voucher verified in between wakes it.
            notified.as_mut().enable();
            let credit = metering.credit(&terms.channel_id).await?;
            if credit.available() >= terms.price {
                return Ok(true);
            }
            let now = Instant::now();
            let Some(left) = deadline
                .checked_duration_since(now)
                .filter(|d| !d.is_zero())
            else {
                return Ok(false);
            };
            let nap = left.min(self.meter.options.poll);
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// The session receipt as the stream ends: the latest one, with the channel's credit now.
    pub(crate) async fn receipt(&self) -> Result<Receipt, VerifyError> {
        let terms = &self.meter.terms;
        let credit = self.metering()?.credit(&terms.channel_id).await?;
        let mut receipt = self.last.clone();
        receipt.timestamp = mpp_core::expires::format_system(SystemTime::now());
        receipt.extra.remove("txHash");
        receipt
            .extra
            .insert("challengeId".into(), terms.challenge_id.clone().into());
        receipt.extra.insert(
            "acceptedCumulative".into(),
            credit.accepted.to_string().into(),
        );
        receipt
            .extra
            .insert("spent".into(), credit.spent.to_string().into());
        receipt.extra.insert("units".into(), credit.units.into());
        Ok(receipt)
    }
}
