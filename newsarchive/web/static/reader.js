// Images of an archived article come from the original site: load one only when asked,
// without sending the archive's address as the referrer.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.na-load-image");
  if (!button) return;
  const image = document.createElement("img");
  image.referrerPolicy = "no-referrer";
  image.alt = "";
  image.src = button.dataset.src;
  button.replaceWith(image);
});
