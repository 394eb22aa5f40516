// The card checkout: Stripe.js (or localstripe's stand-in) collects the card and confirms the order's
// PaymentIntent; the shop learns the outcome from the provider's signed webhook, not from this page.
(function () {
  const form = document.getElementById("payment-form");
  if (!form || typeof Stripe === "undefined") return;
  const stripe = Stripe(form.dataset.key);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const errors = document.getElementById("card-errors");
  const pay = document.getElementById("pay");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    pay.disabled = true; // a double click pays once: one intent, confirmed once
    errors.textContent = "";
    const result = await stripe.confirmCardPayment(form.dataset.clientSecret, { payment_method: { card } });
    if (result.error) {
      errors.textContent = result.error.message + " Your seats are still held: try another card.";
      pay.disabled = false;
      return;
    }
    window.location.href = form.dataset.done;
  });
})();
