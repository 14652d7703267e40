/**
 * The saved look's URL as a QR code, drawn as one SVG path of dark modules (crisp at any size,
 * no image). `qrcode` does the encoding; medium error correction survives a phone at an angle.
 */
import QRCode from 'qrcode';

export interface QrPath {
  /** Modules per side, without the quiet zone. */
  size: number;
  /** SVG path data in module units, offset by the quiet zone. */
  d: string;
}

/** The standard's quiet zone: 4 modules of light on every side. */
export const QUIET = 4;

export function qrPath(text: string): QrPath {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const parts: string[] = [];
  for (let row = 0; row < modules.size; row++) {
    for (let col = 0; col < modules.size; col++) {
      if (modules.get(row, col)) parts.push(`M${col + QUIET} ${row + QUIET}h1v1h-1z`);
    }
  }
  return { size: modules.size, d: parts.join('') };
}
