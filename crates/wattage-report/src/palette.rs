//! Colours: fixed ones for energy sources, so `Grid` is the same blue in every chart, and a
//! categorical palette (Tableau 10, readable by most colour-blind readers) for everything else.

use plotters::style::RGBColor;

use crate::model::Colour;

/// The categorical palette that [`Colour::Palette`] indexes (cycling).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];

/// The RGB colour of a series colour.
pub fn rgb(c: Colour) -> RGBColor {
    match c {
        Colour::Grid => RGBColor(0x4e, 0x79, 0xa7),
        Colour::GasTurbine => RGBColor(0xf2, 0x8e, 0x2b),
        Colour::Battery => RGBColor(0x59, 0xa1, 0x4f),
        Colour::Solar => RGBColor(0xed, 0xc9, 0x48),
        Colour::Wind => RGBColor(0x76, 0xb7, 0xb2),
        Colour::Miners => RGBColor(0xb0, 0x7a, 0xa1),
        Colour::Unserved => RGBColor(0xd6, 0x27, 0x28),
        Colour::Load => RGBColor(0x1f, 0x29, 0x37),
        Colour::It => RGBColor(0x9c, 0x75, 0x5f),
        Colour::Cooling => RGBColor(0x8c, 0xc5, 0xe3),
        Colour::Palette(i) => PALETTE[usize::from(i) % PALETTE.len()],
    }
}
