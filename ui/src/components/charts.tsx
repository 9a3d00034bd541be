// Charts as inline SVG (no text inside, so stretching the drawing to the page's width
// distorts nothing): bars of labelled values, and a line of a rate over time.

export type Bar = { label: string; value: number; title?: string };

function Scale({ left, right, top }: { left: string; right: string; top: string }) {
  return (
    <div class="chart-scale" aria-hidden="true">
      <span>{left}</span>
      <span>max {top}</span>
      <span>{right}</span>
    </div>
  );
}

export function BarChart({ bars, unit, label }: { bars: Bar[]; unit: string; label: string }) {
  const width = 640;
  const height = 140;
  const top = Math.max(1, ...bars.map((b) => b.value));
  const gap = 2;
  const bw = bars.length ? Math.max(2, (width - gap * bars.length) / bars.length) : 0;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}: ${bars.map((b) => `${b.label} ${b.value}`).join(", ") || "nothing"}`} preserveAspectRatio="none">
        <line x1="0" y1={height - 1} x2={width} y2={height - 1} class="axis" />
        {bars.map((b, i) => {
          const h = (b.value / top) * (height - 6);
          return (
            <rect key={i} x={i * (bw + gap)} y={height - 1 - h} width={bw} height={h} class="bar">
              <title>{`${b.title ?? b.label}: ${b.value} ${unit}`}</title>
            </rect>
          );
        })}
      </svg>
      <Scale left={bars[0]?.label ?? "no data"} right={bars.length > 1 ? bars[bars.length - 1]!.label : ""} top={`${top} ${unit}`} />
      <figcaption>{label}</figcaption>
    </figure>
  );
}

export type Sample = { t: number; v: number };

/** A line of `samples` (time in ms, value) over the last `span` ms. */
export function RateChart({ samples, span, unit, label }: { samples: Sample[]; span: number; unit: string; label: string }) {
  const width = 640;
  const height = 140;
  const now = samples.length ? samples[samples.length - 1]!.t : Date.now();
  const start = now - span;
  const shown = samples.filter((s) => s.t >= start);
  const top = Math.max(1, ...shown.map((s) => s.v));
  const x = (t: number) => ((t - start) / span) * width;
  const y = (v: number) => height - 2 - (v / top) * (height - 8);
  const points = shown.map((s) => `${x(s.t).toFixed(1)},${y(s.v).toFixed(1)}`).join(" ");
  const last = shown[shown.length - 1];
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}: ${last ? `now ${last.v.toFixed(1)} ${unit}` : "no samples yet"}`} preserveAspectRatio="none">
        <line x1="0" y1={height - 1} x2={width} y2={height - 1} class="axis" />
        {shown.length > 1 && <polyline points={points} class="line" />}
        {shown.length === 1 && <circle cx={x(shown[0]!.t)} cy={y(shown[0]!.v)} r="3" class="dot" />}
      </svg>
      <Scale left={`−${Math.round(span / 60000)} min`} right={last ? `now ${last.v.toFixed(1)} ${unit}` : "no samples yet"} top={`${top.toFixed(top < 10 ? 1 : 0)} ${unit}`} />
      <figcaption>{label}</figcaption>
    </figure>
  );
}

/** A confidence in [0, 1] as a bar with its number. */
export function ConfidenceBar({ value }: { value: number | null | undefined }) {
  if (value === null || value === undefined) return <span class="muted">—</span>;
  const pct = Math.round(Math.max(0, Math.min(1, value)) * 100);
  return (
    <span class="confidence" title={`confidence ${value}`}>
      <span class="confidence-track" aria-hidden="true">
        <span class="confidence-fill" style={{ width: `${pct}%` }} />
      </span>
      <span class="confidence-number">{value.toFixed(2)}</span>
    </span>
  );
}
