//! KPI definitions computed from router events (one function per KPI; see KPI.md).
