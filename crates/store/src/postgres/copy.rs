//! Rows in bulk: `COPY … FROM STDIN BINARY` through tokio-postgres's binary writer, one
//! round trip for a table's rows of a whole batch instead of one a row.

use std::pin::Pin;

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Transaction;

use crate::error::StoreError;

/// A `COPY` into one table under way.
pub struct CopyIn {
    writer: Pin<Box<BinaryCopyInWriter>>,
}

impl CopyIn {
    /// Starts copying into `table (columns)`, whose types are `types`, in order.
    pub async fn start(
        transaction: &Transaction<'_>,
        table: &str,
        columns: &str,
        types: &[Type],
    ) -> Result<CopyIn, StoreError> {
        let sink = transaction.copy_in(&format!("COPY {table} ({columns}) FROM STDIN BINARY")).await?;
        Ok(CopyIn { writer: Box::pin(BinaryCopyInWriter::new(sink, types)) })
    }

    pub async fn row(&mut self, values: &[&(dyn ToSql + Sync)]) -> Result<(), StoreError> {
        self.writer.as_mut().write(values).await?;
        Ok(())
    }

    /// Ends the copy; how many rows went in.
    pub async fn finish(mut self) -> Result<u64, StoreError> {
        Ok(self.writer.as_mut().finish().await?)
    }
}
