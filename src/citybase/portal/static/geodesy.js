// Distances and areas on the CGCS2000 ellipsoid (GRS 80), the one the server measures on, so the portal's
// figures agree with the API's. Distances: Vincenty's inverse formula (sub-millimetre over a city).
// Areas: on the authalic sphere (same total area as the ellipsoid) in an equal-area projection; for drawn
// city-sized polygons this differs from the geodesic area by far less than 0.01 %.

const A = 6378137; // GRS 80 semi-major axis (m)
const F = 1 / 298.257222101; // GRS 80 flattening
const B = A * (1 - F);
const E2 = F * (2 - F);
const E = Math.sqrt(E2);
const RAD = Math.PI / 180;

/** Geodesic distance in metres between two [lon, lat] points (Vincenty inverse on GRS 80). */
export function distance([lon1, lat1], [lon2, lat2]) {
  const L = (lon2 - lon1) * RAD;
  const U1 = Math.atan((1 - F) * Math.tan(lat1 * RAD));
  const U2 = Math.atan((1 - F) * Math.tan(lat2 * RAD));
  const [sinU1, cosU1, sinU2, cosU2] = [Math.sin(U1), Math.cos(U1), Math.sin(U2), Math.cos(U2)];
  let lambda = L;
  for (let i = 0; i < 200; i += 1) {
    const sinL = Math.sin(lambda);
    const cosL = Math.cos(lambda);
    const sinSigma = Math.hypot(cosU2 * sinL, cosU1 * sinU2 - sinU1 * cosU2 * cosL);
    if (sinSigma === 0) return 0; // the same point
    const cosSigma = sinU1 * sinU2 + cosU1 * cosU2 * cosL;
    const sigma = Math.atan2(sinSigma, cosSigma);
    const sinAlpha = (cosU1 * cosU2 * sinL) / sinSigma;
    const cos2Alpha = 1 - sinAlpha * sinAlpha;
    const cos2SigmaM = cos2Alpha === 0 ? 0 : cosSigma - (2 * sinU1 * sinU2) / cos2Alpha; // equatorial line
    const C = (F / 16) * cos2Alpha * (4 + F * (4 - 3 * cos2Alpha));
    const previous = lambda;
    lambda = L + (1 - C) * F * sinAlpha
      * (sigma + C * sinSigma * (cos2SigmaM + C * cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM)));
    if (Math.abs(lambda - previous) < 1e-12) {
      const u2 = (cos2Alpha * (A * A - B * B)) / (B * B);
      const a = 1 + (u2 / 16384) * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)));
      const b = (u2 / 1024) * (256 + u2 * (-128 + u2 * (74 - 47 * u2)));
      const dSigma = b * sinSigma * (cos2SigmaM + (b / 4) * (cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM)
        - (b / 6) * cos2SigmaM * (-3 + 4 * sinSigma * sinSigma) * (-3 + 4 * cos2SigmaM * cos2SigmaM)));
      return B * a * (sigma - dSigma);
    }
  }
  return NaN; // nearly antipodal points: never on a city map
}

/** Length in metres of a line of [lon, lat] points. */
export function length(points) {
  let total = 0;
  for (let i = 1; i < points.length; i += 1) total += distance(points[i - 1], points[i]);
  return total;
}

// q(φ) of the authalic latitude (Snyder, Map Projections — A Working Manual, eq. 3-12).
function q(sinPhi) {
  return (1 - E2) * (sinPhi / (1 - E2 * sinPhi * sinPhi)
    - (1 / (2 * E)) * Math.log((1 - E * sinPhi) / (1 + E * sinPhi)));
}
const QP = q(1);
const RQ = A * Math.sqrt(QP / 2); // radius of the authalic sphere

/** Area in m² of a ring of [lon, lat] points (open or closed; either orientation). */
export function area(ring) {
  if (ring.length < 3) return 0;
  // Lambert cylindrical equal-area on the authalic sphere: x = R·λ, y = R·sin β = R·q/qp; then the shoelace.
  const lon0 = ring[0][0];
  const xy = ring.map(([lon, lat]) => [(lon - lon0) * RAD * RQ, (q(Math.sin(lat * RAD)) / QP) * RQ]);
  let twice = 0;
  for (let i = 0; i < xy.length; i += 1) {
    const [x1, y1] = xy[i];
    const [x2, y2] = xy[(i + 1) % xy.length];
    twice += x1 * y2 - x2 * y1;
  }
  return Math.abs(twice) / 2;
}

const number = (value, digits, lang) => value.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB",
  { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** "856.3 m" below a kilometre, else "12.35 km". */
export function formatDistance(metres, lang = "zh") {
  return metres < 1000 ? `${number(metres, 1, lang)} m` : `${number(metres / 1000, 2, lang)} km`;
}

/** "8,560 m²" below a hectare, else "12.35 公顷 (123,456 m²)" (hectares: 公顷 in Chinese, ha in English). */
export function formatArea(m2, lang = "zh") {
  if (m2 < 10000) return `${number(m2, 0, lang)} m²`;
  const unit = lang === "zh" ? "公顷" : "ha";
  return `${number(m2 / 10000, 2, lang)} ${unit} (${number(m2, 0, lang)} m²)`;
}
