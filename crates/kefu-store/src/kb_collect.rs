//! The top hits of a knowledge-base search with its filters (kind, status, validity,
//! category, product, tag) checked per document from fast fields while collecting. Filters
//! inside the query would turn tantivy's block-max WAND union into an exhaustive
//! intersection; checked here, the text query stays a pure union of terms and keeps skipping
//! whole blocks of documents that cannot reach the top.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::Weight;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

/// Field names of the fast columns the filters read.
pub(crate) const KIND_CODE: &str = "kind_code";
pub(crate) const STATUS_CODE: &str = "status_code";
pub(crate) const VALID_FROM: &str = "valid_from";
pub(crate) const VALID_TO: &str = "valid_to";
pub(crate) const CATEGORY: &str = "category";
pub(crate) const PRODUCT: &str = "product";
pub(crate) const TAGS: &str = "tags";

/// What a hit must satisfy.
#[derive(Clone, Debug, Default)]
pub(crate) struct DocFilter {
    /// The kind's code must be this.
    pub kind: Option<i64>,
    /// The status's code must be this.
    pub status: Option<i64>,
    /// Valid at this instant (epoch ms): `valid_from <= at < valid_to`.
    pub valid_at: Option<i64>,
    /// String columns and the value each must hold: (column, value).
    pub strings: Vec<(&'static str, String)>,
}

/// A [`DocFilter`] bound to one segment's columns.
pub(crate) struct SegmentFilter {
    kind: Option<(Column<i64>, i64)>,
    status: Option<(Column<i64>, i64)>,
    valid: Option<(Column<i64>, Column<i64>, i64)>,
    strings: Vec<(Column<u64>, u64)>,
}

impl DocFilter {
    /// The filter for one segment, or `None` when no document of it can match (a wanted
    /// string occurs nowhere in the segment).
    fn for_segment(&self, reader: &SegmentReader) -> tantivy::Result<Option<SegmentFilter>> {
        let ff = reader.fast_fields();
        let mut strings = Vec::with_capacity(self.strings.len());
        for (name, value) in &self.strings {
            let Some(column) = ff.str(name)? else { return Ok(None) };
            let Some(ord) = column.dictionary().term_ord(value)? else { return Ok(None) };
            strings.push((column.into_parts().1, ord));
        }
        Ok(Some(SegmentFilter {
            kind: self.kind.map(|k| Ok::<_, tantivy::TantivyError>((ff.i64(KIND_CODE)?, k))).transpose()?,
            status: self.status.map(|s| Ok::<_, tantivy::TantivyError>((ff.i64(STATUS_CODE)?, s))).transpose()?,
            valid: self
                .valid_at
                .map(|at| Ok::<_, tantivy::TantivyError>((ff.i64(VALID_FROM)?, ff.i64(VALID_TO)?, at)))
                .transpose()?,
            strings,
        }))
    }
}

impl SegmentFilter {
    fn matches(&self, doc: DocId) -> bool {
        if let Some((column, want)) = &self.kind
            && column.first(doc) != Some(*want)
        {
            return false;
        }
        if let Some((column, want)) = &self.status
            && column.first(doc) != Some(*want)
        {
            return false;
        }
        if let Some((from, to, at)) = &self.valid
            && !(from.first(doc).unwrap_or(i64::MIN) <= *at && *at < to.first(doc).unwrap_or(i64::MAX))
        {
            return false;
        }
        self.strings.iter().all(|(column, ord)| column.values_for_doc(doc).any(|o| o == *ord))
    }
}

/// A scored document, ordered worst first in a max-heap so the heap's top is evicted.
#[derive(Clone, Copy)]
struct Scored(Score, DocId);

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    /// Lower score is "greater" (evicted first); on a tie the later document goes first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

/// The best `k` documents by score among those passing `filter`.
pub(crate) struct TopFiltered {
    pub k: usize,
    pub filter: DocFilter,
}

/// One segment's share of [`TopFiltered`].
pub(crate) struct TopFilteredSegment {
    k: usize,
    segment_ord: SegmentOrdinal,
    filter: Option<SegmentFilter>,
    heap: BinaryHeap<Scored>,
}

impl TopFilteredSegment {
    /// Offers a document; returns the score a document must now beat.
    fn offer(&mut self, doc: DocId, score: Score) -> Score {
        if self.filter.as_ref().is_some_and(|f| f.matches(doc)) {
            self.heap.push(Scored(score, doc));
            if self.heap.len() > self.k {
                self.heap.pop();
            }
        }
        self.threshold()
    }

    fn threshold(&self) -> Score {
        match self.heap.peek() {
            Some(worst) if self.heap.len() >= self.k => worst.0,
            _ => Score::MIN,
        }
    }
}

impl SegmentCollector for TopFilteredSegment {
    type Fruit = Vec<(Score, DocAddress)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.offer(doc, score);
    }

    fn harvest(self) -> Self::Fruit {
        let ord = self.segment_ord;
        self.heap.into_iter().map(|Scored(score, doc)| (score, DocAddress::new(ord, doc))).collect()
    }
}

impl Collector for TopFiltered {
    type Fruit = Vec<(Score, DocAddress)>;
    type Child = TopFilteredSegment;

    fn for_segment(&self, segment_ord: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<TopFilteredSegment> {
        Ok(TopFilteredSegment {
            k: self.k.max(1),
            segment_ord,
            filter: self.filter.for_segment(reader)?,
            heap: BinaryHeap::with_capacity(self.k.max(1) + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut all: Vec<(Score, DocAddress)> = fruits.into_iter().flatten().collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        all.truncate(self.k);
        Ok(all)
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment_ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Fruit> {
        let mut segment = self.for_segment(segment_ord, reader)?;
        if segment.filter.is_none() {
            return Ok(Vec::new());
        }
        let alive = reader.alive_bitset();
        weight.for_each_pruning(Score::MIN, reader, &mut |doc, score| {
            if alive.is_some_and(|a| a.is_deleted(doc)) {
                return segment.threshold();
            }
            segment.offer(doc, score)
        })?;
        Ok(segment.harvest())
    }
}
