/**
 * A log-linear histogram of whole microseconds (about 1.5% precision), cheap to
 * record into and to merge across worker processes (plain arrays over IPC).
 */
const SUB = 64; // buckets per power of two above 128 µs
const LINEAR = 2 * SUB; // values below this are counted exactly
const MAX_EXP = 40;
const SIZE = LINEAR + MAX_EXP * SUB;

export interface HistogramSummary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export class Histogram {
  readonly counts: number[];
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;

  constructor(counts?: number[]) {
    this.counts = counts ?? new Array<number>(SIZE).fill(0);
  }

  record(us: number): void {
    const v = us < 0 ? 0 : Math.round(us);
    this.counts[indexOf(v)]!++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  merge(o: HistogramData): void {
    for (let i = 0; i < SIZE; i++) this.counts[i]! += o.counts[i] ?? 0;
    this.count += o.count;
    this.sum += o.sum;
    if (o.count > 0) {
      this.min = Math.min(this.min, o.min);
      this.max = Math.max(this.max, o.max);
    }
  }

  /** The value at quantile q (0..1), as the upper edge of its bucket, capped at max. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < SIZE; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(upperEdge(i), this.max);
    }
    return this.max;
  }

  summary(): HistogramSummary {
    return {
      count: this.count,
      min: this.count ? this.min : 0,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      max: this.max,
      mean: this.count ? this.sum / this.count : 0,
    };
  }

  toData(): HistogramData {
    return { counts: this.counts, count: this.count, sum: this.sum, min: this.min, max: this.max };
  }

  static from(d: HistogramData): Histogram {
    const h = new Histogram();
    h.merge(d);
    return h;
  }
}

export interface HistogramData {
  counts: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
}

function indexOf(v: number): number {
  if (v < LINEAR) return v;
  const exp = Math.floor(Math.log2(v)) - 6; // v >> exp lands in [64, 128)
  const idx = LINEAR + (exp - 1) * SUB + (Math.floor(v / 2 ** exp) - SUB);
  return Math.min(SIZE - 1, idx);
}

function upperEdge(i: number): number {
  if (i < LINEAR) return i;
  const exp = Math.floor((i - LINEAR) / SUB) + 1;
  const sub = ((i - LINEAR) % SUB) + SUB;
  return (sub + 1) * 2 ** exp - 1;
}
